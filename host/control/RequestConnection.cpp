#include "control/RequestConnection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace wharf::control {

RequestConnection::RequestConnection(net::EventLoop &loop, net::FileDescriptor socket,
                                     Clock::time_point deadline, const Complete &complete,
                                     const Answer &answer, Done done)
    : loop_(loop),
      socket_(std::move(socket)),
      deadline_(deadline),
      complete_(complete),
      answer_(answer),
      done_(std::move(done)) {}

void RequestConnection::onEvents(uint32_t events) {
  if (evicted_ || (events & EPOLLERR)) return done_(this);
  if (!answered_)
    receive();
  else
    send();
}

void RequestConnection::evict() {
  evicted_ = true;
  ::shutdown(socket_.fd(), SHUT_RDWR);  // readable at once: the next event ends it
}

void RequestConnection::receive() {
  char buffer[4096];
  for (;;) {
    ssize_t got = ::recv(socket_.fd(), buffer, sizeof buffer, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) return;  // more to come
    if (got < 0) return done_(this);
    if (got > 0) request_.append(buffer, static_cast<size_t>(got));
    std::optional<size_t> whole = complete_(request_);
    if (got > 0 && !whole && request_.size() < kMaxRequest) continue;
    reply_ = answer_(request_.substr(0, std::min(whole.value_or(request_.size()), kMaxRequest)));
    answered_ = true;
    loop_.modify(socket_.fd(), EPOLLOUT, this);
    return send();
  }
}

void RequestConnection::send() {
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
