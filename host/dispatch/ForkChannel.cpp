#include "dispatch/ForkChannel.h"

#include <cerrno>
#include <cstring>

namespace wharf::dispatch::fork {
namespace {

constexpr size_t kMaxPayload = 65536;

}  // namespace

bool send(int channel, const Header &header, int socket, std::span<const uint8_t> payload) {
  iovec parts[2] = {{const_cast<Header *>(&header), sizeof header},
                    {const_cast<uint8_t *>(payload.data()), payload.size()}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = payload.empty() ? 1 : 2;
  if (socket >= 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr *rights = CMSG_FIRSTHDR(&message);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(rights), &socket, sizeof socket);
  }
  for (;;) {
    ssize_t sent = ::sendmsg(channel, &message, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    return sent == static_cast<ssize_t>(sizeof header + payload.size());
  }
}

std::optional<Message> receive(int channel) {
  Message received;
  received.payload.resize(kMaxPayload);
  iovec parts[2] = {{&received.header, sizeof received.header},
                    {received.payload.data(), received.payload.size()}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = 2;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t got;
  do {
    got = ::recvmsg(channel, &message, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  if (got < static_cast<ssize_t>(sizeof received.header)) return std::nullopt;
  received.payload.resize(static_cast<size_t>(got) - sizeof received.header);
  for (cmsghdr *part = CMSG_FIRSTHDR(&message); part; part = CMSG_NXTHDR(&message, part)) {
    if (part->cmsg_level == SOL_SOCKET && part->cmsg_type == SCM_RIGHTS) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(part), sizeof fd);
      received.socket = net::FileDescriptor(fd);
    }
  }
  return received;
}

std::vector<uint8_t> encodeOptions(const std::vector<config::PluginOption> &options) {
  std::vector<uint8_t> payload;
  for (const auto &option : options)
    for (const std::string *text : {&option.key, &option.value})
      payload.insert(payload.end(), text->c_str(), text->c_str() + text->size() + 1);
  return payload;
}

std::vector<config::PluginOption> decodeOptions(std::span<const uint8_t> payload) {
  std::vector<config::PluginOption> options;
  const auto *text = reinterpret_cast<const char *>(payload.data());
  for (size_t at = 0; at < payload.size();) {
    std::string key(text + at, ::strnlen(text + at, payload.size() - at));
    at += key.size() + 1;
    std::string value(at < payload.size()
                          ? std::string(text + at, ::strnlen(text + at, payload.size() - at))
                          : "");
    at += value.size() + 1;
    options.push_back({key, value});
  }
  return options;
}

}  // namespace wharf::dispatch::fork
