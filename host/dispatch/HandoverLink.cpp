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
  bool first;
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    first = outgoing_.empty();
    auto next = batch.begin();
    // The caller's thread sends what the other end's buffer takes now: on a
    // busy core, waking the sending thread held a package up to 20 ms
    // (bench/migration), and a moved session is frozen until it arrives.
    // Not past messages queued or in the sending thread's hands: they go first.
    if (first && !sending_) {
      for (; next != batch.end(); ++next) {
        process::Channel::Sent sent = channel_.trySend(*next->body, next->attached.fd());
        if (sent == process::Channel::Sent::WouldWait) break;
        if (sent == process::Channel::Sent::Failed) return endLocked();
      }
    }
    if (next == batch.end()) return;
    for (; next != batch.end(); ++next) outgoing_.push_back(std::move(*next));
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
    sending_ = true;
    lock.unlock();
    bool sent = channel_.send(*next.body, next.attached.fd());
    lock.lock();
    sending_ = false;
    if (!sent) return endLocked();
  }
}

void HandoverLink::endLocked() {
  // Gone, or a message the pair cannot carry: either way the link ends for
  // both sides (the receivers see it close), so nothing waits for an answer
  // to a package that never went.
  closing_ = true;
  outgoing_.clear();
  ::shutdown(channel_.fd(), SHUT_RDWR);
  queued_.notify_all();
}

void HandoverLink::receiveAll(const Receiver &receiver) {
  while (std::optional<process::Message> message = channel_.receive())
    receiver(message->body, std::move(message->socket));
  receiver(nullptr, net::FileDescriptor());
}

}  // namespace wharf::dispatch
