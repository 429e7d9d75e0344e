#include "dispatch/WaitingRoom.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace wharf::dispatch {
namespace {

constexpr int kBatch = 64;

void watch(int epoll, int fd) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.fd = fd;
  if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

}  // namespace

WaitingRoom::WaitingRoom(int listeningSocket)
    : listening_(listeningSocket), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_.valid()) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  watch(epoll_.fd(), listening_);
}

void WaitingRoom::add(PendingSessionPtr session, Clock::time_point deadline) {
  int fd = session->connection.fd();
  watch(epoll_.fd(), fd);
  waiting_[fd] = {std::move(session), ++arrivals_};
  expiries_.emplace(deadline, Expiry{fd, arrivals_});
}

void WaitingRoom::remove(std::map<int, Waiting>::iterator entry) {
  ::epoll_ctl(epoll_.fd(), EPOLL_CTL_DEL, entry->first, nullptr);
  waiting_.erase(entry);
}

WaitingRoom::Ready WaitingRoom::takeReady() {
  Ready ready;
  epoll_event events[kBatch];
  int count = ::epoll_wait(epoll_.fd(), events, kBatch, 0);
  for (int i = 0; i < count; ++i) {
    int fd = events[i].data.fd;
    if (fd == listening_) {
      ready.listening = true;
      continue;
    }
    auto entry = waiting_.find(fd);
    if (entry == waiting_.end()) continue;
    ready.spoke.push_back(std::move(entry->second.session));
    remove(entry);
  }
  return ready;
}

std::vector<PendingSessionPtr> WaitingRoom::takeExpired(Clock::time_point now) {
  std::vector<PendingSessionPtr> expired;
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    Expiry expiry = expiries_.begin()->second;
    expiries_.erase(expiries_.begin());
    auto entry = waiting_.find(expiry.fd);
    if (entry == waiting_.end() || entry->second.ticket != expiry.ticket) continue;  // left
    expired.push_back(std::move(entry->second.session));
    remove(entry);
  }
  return expired;
}

std::chrono::milliseconds WaitingRoom::untilNextDeadline(Clock::time_point now) const {
  if (waiting_.empty() || expiries_.empty()) return std::chrono::milliseconds(-1);
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::ceil<std::chrono::milliseconds>(expiries_.begin()->first - now));
}

}  // namespace wharf::dispatch
