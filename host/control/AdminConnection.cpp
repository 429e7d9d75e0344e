#include "control/AdminConnection.h"

#include <sys/socket.h>

#include <cerrno>

namespace wharf::control {

AdminConnection::AdminConnection(net::EventLoop &loop, net::FileDescriptor socket,
                                 Clock::time_point deadline, Answer answer, Done done)
    : loop_(loop),
      socket_(std::move(socket)),
      deadline_(deadline),
      answer_(std::move(answer)),
      done_(std::move(done)) {}

void AdminConnection::onEvents(uint32_t events) {
  if (evicted_ || (events & EPOLLERR)) return done_(this);
  if (!answered_)
    receive();
  else
    send();
}

void AdminConnection::evict() {
  evicted_ = true;
  ::shutdown(socket_.fd(), SHUT_RDWR);  // readable at once: the next event ends it
}

void AdminConnection::receive() {
  char buffer[4096];
  for (;;) {
    ssize_t got = ::recv(socket_.fd(), buffer, sizeof buffer, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) return;  // more to come
    if (got < 0) return done_(this);
    if (got > 0) request_.append(buffer, static_cast<size_t>(got));
    size_t end = request_.find('\n');
    if (got > 0 && end == std::string::npos && request_.size() < kMaxRequest) continue;
    reply_ = answer_(request_.substr(0, std::min(end, kMaxRequest))) + "\n";
    answered_ = true;
    loop_.modify(socket_.fd(), EPOLLOUT, this);
    return send();
  }
}

void AdminConnection::send() {
  while (replySent_ < reply_.size()) {
    ssize_t put =
        ::send(socket_.fd(), reply_.data() + replySent_, reply_.size() - replySent_, MSG_NOSIGNAL);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0 && errno == EAGAIN) return;  // the rest when writable
    if (put <= 0) break;
    replySent_ += static_cast<size_t>(put);
  }
  done_(this);
}

}  // namespace wharf::control
