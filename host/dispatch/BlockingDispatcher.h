// Internal. The common part of the modes that run each session to its end on
// a blocking socket (sync, thread): one loop thread takes a connection or a
// datagram off the listening socket and hands the work that serves it to
// schedule(), which each mode implements.
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

  void start() final;
  void stopAccepting() final;
  void drain() final;

 protected:
  using Work = std::function<void()>;  // serves one session; never throws

  // THREAD: the loop thread. Runs or hands off `work`.
  virtual void schedule(Work work) = 0;
  // THREAD: main, once the loop thread has ended. Returns when no session runs.
  virtual void waitForSessions() = 0;

 private:
  void loop() noexcept;
  std::optional<Work> takeNext();
  std::optional<Work> acceptConnection();
  std::optional<Work> receiveDatagram();

  DispatchContext context_;
  net::StopSignal stopSignal_;
  std::vector<uint8_t> datagramBuffer_;
  std::thread loopThread_;
};

}  // namespace wharf::dispatch
