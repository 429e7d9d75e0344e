// Internal. The common part of the modes that run each session to its end on
// a blocking socket (sync, thread, pool): one loop thread takes a connection
// or a datagram off the listening socket, admits or refuses it, and hands the
// work that serves it to schedule(), which each mode implements.
#pragma once

#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "dispatch/DispatchMode.h"
#include "net/StopSignal.h"

namespace wharf::dispatch {

class BlockingDispatcher : public Dispatcher {
 public:
  explicit BlockingDispatcher(const DispatchContext &context);
  ~BlockingDispatcher() override;

  void start() override;
  void stopAccepting() final;
  void drain() final;

 protected:
  using Work = std::function<void()>;  // serves one session; never throws

  // THREAD: the loop thread. Runs or hands off `work`; false refuses it
  // (the session is closed and counted as queue_full).
  virtual bool schedule(Work work) = 0;
  // THREAD: main, once the loop thread has ended. Returns when no session runs.
  virtual void waitForSessions() = 0;

  const DispatchContext &context() const { return context_; }

 private:
  void loop() noexcept;
  void takeNext();
  void acceptConnection();
  void receiveDatagram();
  void dispatch(const net::SocketAddress &peer, Work work);
  std::optional<listener::Admission::Ticket> admit(const net::SocketAddress &peer);

  DispatchContext context_;
  net::StopSignal stopSignal_;
  std::vector<uint8_t> datagramBuffer_;
  std::thread loopThread_;
};

}  // namespace wharf::dispatch
