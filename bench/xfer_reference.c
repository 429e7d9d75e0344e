// The physical limit bench/xfer measures xfer against: the smallest server
// of both xfer dialects that moves a file as cheaply as Linux can, one
// connection at a time, blocking: sendfile out, splice (socket, pipe, file)
// in. No checks beyond keeping names inside ROOT, no limits, no temporary
// file: do not expose it.
//   xfer_reference framed|pipe PORT ROOT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum { kPipeSize = 1 << 20, kMaxHeader = 4096 };

static int root;

static bool receiveExactly(int socket, char *into, size_t size) {
  for (size_t got = 0; got < size;) {
    ssize_t count = recv(socket, into + got, size - got, 0);
    if (count <= 0) return false;
    got += (size_t)count;
  }
  return true;
}

static bool sendAll(int socket, const char *bytes, size_t size) {
  for (size_t sent = 0; sent < size;) {
    ssize_t count = send(socket, bytes + sent, size - sent, MSG_NOSIGNAL);
    if (count <= 0) return false;
    sent += (size_t)count;
  }
  return true;
}

static int openedBelowRoot(const char *name, int flags) {
  if (name[0] == '\0' || name[0] == '.' || strchr(name, '/')) return -1;
  return openat(root, name, flags | O_CLOEXEC, 0644);
}

// `size` bytes from the socket into a new file `name`, through a pipe of its own.
static bool receiveFile(int socket, const char *name, uint64_t size) {
  int file = openedBelowRoot(name, O_WRONLY | O_CREAT | O_TRUNC);
  int ends[2];
  if (file < 0 || pipe2(ends, O_CLOEXEC) != 0) return false;
  fcntl(ends[1], F_SETPIPE_SZ, kPipeSize);
  uint64_t left = size;
  while (left > 0) {
    size_t most = left < kPipeSize ? (size_t)left : kPipeSize;
    ssize_t taken = splice(socket, NULL, ends[1], NULL, most, SPLICE_F_MOVE);
    ssize_t inPipe = taken;
    while (inPipe > 0) {
      ssize_t written = splice(ends[0], NULL, file, NULL, (size_t)inPipe, SPLICE_F_MOVE);
      if (written <= 0) break;
      inPipe -= written;
    }
    if (taken <= 0 || inPipe > 0) break;
    left -= (uint64_t)taken;
  }
  close(ends[0]);
  close(ends[1]);
  close(file);
  return left == 0;
}

static bool sendFile(int socket, int file, uint64_t size) {
  for (uint64_t left = size; left > 0;) {
    ssize_t sent = sendfile(socket, file, NULL, (size_t)left);
    if (sent <= 0) return false;
    left -= (uint64_t)sent;
  }
  return true;
}

static uint64_t sizeOf(int file) {
  struct stat status;
  return fstat(file, &status) == 0 ? (uint64_t)status.st_size : 0;
}

// The string or number after "key": in the JSON the tutorial's client sends
// (json.dumps of plain values), copied into `value`.
static bool field(const char *json, const char *key, char *value, size_t capacity) {
  char quoted[32];
  snprintf(quoted, sizeof quoted, "\"%s\":", key);
  const char *at = strstr(json, quoted);
  if (!at) return false;
  at += strlen(quoted);
  at += strspn(at, " ");
  bool text = *at == '"';
  at += text;
  size_t length = text ? strcspn(at, "\"") : strspn(at, "0123456789");
  if (length >= capacity) return false;
  memcpy(value, at, length);
  value[length] = '\0';
  return true;
}

static bool sendFramed(int socket, const char *json) {
  int32_t length = (int32_t)strlen(json);  // struct.pack('i'): this machine's byte order
  char header[4 + kMaxHeader];
  memcpy(header, &length, sizeof length);
  memcpy(header + sizeof length, json, (size_t)length);
  return sendAll(socket, header, sizeof length + (size_t)length);
}

// One framed command; false when the connection is done.
static bool serveFramed(int socket) {
  int32_t length;
  char json[kMaxHeader + 1], command[8], name[256], size[24] = "0";
  if (!receiveExactly(socket, (char *)&length, sizeof length)) return false;
  if (length <= 0 || length > kMaxHeader || !receiveExactly(socket, json, (size_t)length))
    return false;
  json[length] = '\0';
  if (!field(json, "cmd", command, sizeof command) || !field(json, "filename", name, sizeof name))
    return false;
  if (strcmp(command, "put") == 0)
    return field(json, "filesize", size, sizeof size) &&
           receiveFile(socket, name, strtoull(size, NULL, 10));
  if (strcmp(command, "get") != 0) return false;
  int file = openedBelowRoot(name, O_RDONLY);
  if (file < 0) return sendFramed(socket, "{\"error\": \"no such file\"}");
  uint64_t bytes = sizeOf(file);
  char reply[kMaxHeader];
  snprintf(reply, sizeof reply,
           "{\"cmd\": \"get\", \"filename\": \"%s\", \"filesize\": %" PRIu64 "}", name, bytes);
  bool sent = sendFramed(socket, reply) && sendFile(socket, file, bytes);
  close(file);
  return sent;
}

// One pipe command ("cmd|filename|filesize", what one read returns).
static bool servePipe(int socket) {
  char header[kMaxHeader + 1], command[8], name[256];
  uint64_t size;
  ssize_t got = recv(socket, header, kMaxHeader, 0);
  if (got <= 0) return false;
  header[got] = '\0';
  if (sscanf(header, "%7[^|]|%255[^|]|%" SCNu64, command, name, &size) != 3) return false;
  if (strcmp(command, "put") == 0)
    return sendAll(socket, "OK", 2) && receiveFile(socket, name, size);
  if (strcmp(command, "get") != 0) return false;
  int file = openedBelowRoot(name, O_RDONLY);
  if (file < 0) return sendAll(socket, "NO|0", 4);
  char reply[32], goAhead[32];
  int length = snprintf(reply, sizeof reply, "YES|%" PRIu64, sizeOf(file));
  got = sendAll(socket, reply, (size_t)length) ? recv(socket, goAhead, sizeof goAhead - 1, 0) : -1;
  bool sent = got == 13 && memcmp(goAhead, "second_active", 13) == 0 &&
              sendFile(socket, file, sizeOf(file));
  close(file);
  return sent;
}

int main(int argc, char **argv) {
  bool framed = argc == 4 && strcmp(argv[1], "framed") == 0;
  if (argc != 4 || (!framed && strcmp(argv[1], "pipe") != 0))
    return fprintf(stderr, "usage: xfer_reference framed|pipe PORT ROOT\n"), 2;
  root = open(argv[3], O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return perror(argv[3]), 1;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in address = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)atoi(argv[2])),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 16) != 0)
    return perror("bind"), 1;
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (client < 0) continue;
    while (framed ? serveFramed(client) : servePipe(client)) {
    }
    close(client);
  }
}
