#include "dispatch/HandoverLink.h"

#include <sys/socket.h>

namespace wharf::dispatch {

void HandoverLink::start(Receiver receiver) {
  sender_ = std::thread([this] { sendQueued(); });
  receiver_ = std::thread([this, receiver = std::move(receiver)] { receiveAll(receiver); });
}

HandoverLink::~HandoverLink() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  queued_.notify_all();
  ::shutdown(channel_.fd(), SHUT_RDWR);  // the receiver's wait ends; the other end sees it close
  if (sender_.joinable()) sender_.join();
  // The receiver may hold the last reference itself (a package in hand as
  // its owner let go): it cannot join itself, and ends on its own.
  if (receiver_.joinable()) {
    if (receiver_.get_id() == std::this_thread::get_id())
      receiver_.detach();
    else
      receiver_.join();
  }
}

void HandoverLink::send(Poco::JSON::Object::Ptr body, net::FileDescriptor attached) {
  std::vector<Outgoing> one;
  one.push_back({std::move(body), std::move(attached)});
  send(std::move(one));
}

void HandoverLink::send(std::vector<Outgoing> batch) {
  if (batch.empty()) return;
  bool first;
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    first = outgoing_.empty();
    for (Outgoing &message : batch) outgoing_.push_back(std::move(message));
  }
  if (first) queued_.notify_one();  // else the sender has yet to empty the queue
}

bool HandoverLink::sendNow(const Poco::JSON::Object &body) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return false;
  }
  return channel_.send(body);
}

void HandoverLink::sendQueued() {
  std::unique_lock lock(mutex_);
  for (;;) {
    queued_.wait(lock, [this] { return closing_ || !outgoing_.empty(); });
    if (closing_) return;
    Outgoing next = std::move(outgoing_.front());
    outgoing_.pop_front();
    lock.unlock();
    bool sent = channel_.send(*next.body, next.attached.fd());
    lock.lock();
    if (!sent) {
      // Gone, or a message the pair cannot carry: either way the link ends
      // for both sides (the receivers see it close), so nothing waits for an
      // answer to a package that never went.
      closing_ = true;
      outgoing_.clear();
      ::shutdown(channel_.fd(), SHUT_RDWR);
      return;
    }
  }
}

void HandoverLink::receiveAll(const Receiver &receiver) {
  while (std::optional<process::Message> message = channel_.receive())
    receiver(message->body, std::move(message->socket));
  receiver(nullptr, net::FileDescriptor());
}

}  // namespace wharf::dispatch
