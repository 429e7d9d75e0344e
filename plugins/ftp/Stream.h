// A byte stream over a connected socket: plain, or TLS once negotiated
// (TlsStream). Control connections are blocking sockets; data connections
// are non-blocking, and then a call may answer kWouldBlock.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>

namespace ftp {

class Stream {
 public:
  static constexpr ssize_t kWouldBlock = -2;

  virtual ~Stream() = default;
  // > 0 bytes, 0 at end of stream, -1 on error, or kWouldBlock.
  virtual ssize_t read(void *buffer, size_t capacity) = 0;
  virtual ssize_t write(const void *data, size_t length) = 0;
  // Input already decrypted and waiting, so polling the socket would miss it.
  virtual bool pending() const { return false; }
  // What poll() should wait for after kWouldBlock (TLS may need the other way).
  virtual short waitEvents(bool reading) const = 0;
  // Ends the stream politely (TLS close_notify); the socket is closed by its owner.
  virtual void finish() {}
  virtual bool encrypted() const { return false; }
  int fd() const { return fd_; }

  enum class Written { All, Gone, Stalled };
  // Writes everything, waiting as needed, but never longer than `stall`
  // without progress: a peer that stops reading cannot hold the caller.
  Written writeAll(const void *data, size_t length, std::chrono::milliseconds stall);

 protected:
  explicit Stream(int fd) : fd_(fd) {}

 private:
  int fd_;
};

class PlainStream : public Stream {
 public:
  explicit PlainStream(int fd) : Stream(fd) {}
  ssize_t read(void *buffer, size_t capacity) override;
  ssize_t write(const void *data, size_t length) override;
  short waitEvents(bool reading) const override;
};

}  // namespace ftp
