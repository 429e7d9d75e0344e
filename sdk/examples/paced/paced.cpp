// paced: echoes each line, at most option.lines_per_second lines a second
// per session (default 10), written in C++ with the SDK's wrapper (wharf.hpp)
// and its 1.2 timers. Lines that come faster wait in a queue that a
// repeating timer empties; once option.backlog lines wait (default 100), the
// session stops reading (the peer's bytes wait in the kernel, and TCP slows
// the peer down) until half of them have gone, and the plugin metric
// pauses_total counts it.
#include <algorithm>
#include <chrono>
#include <deque>
#include <string>
#include <wharf/wharf.hpp>

class Paced {
 public:
  explicit Paced(wharf::Instance &instance)
      : period_(std::max<long>(1, 1000 / number(instance, "lines_per_second", 10))),
        backlog_(static_cast<size_t>(number(instance, "backlog", 100))),
        pauses_(instance.counter("pauses_total", "Times a session stopped reading.")) {}

  class Session {
   public:
    Session(Paced &listener, wharf::Session &) : listener_(listener) {}

    void onData(wharf::Session &session, wharf::Bytes data) {
      for (uint8_t byte : data) {
        if (byte != '\n') {
          line_ += static_cast<char>(byte);
          if (line_.size() > 4096) throw wharf::Error("line longer than 4096 bytes");
          continue;
        }
        waiting_.push_back(std::move(line_));
        line_.clear();
      }
      if (!ticking_ && !waiting_.empty()) {
        // The timer runs on this session's thread, never with onData at once,
        // and never after the session ends: capturing `this` is safe.
        timer_ = session.startTimer(std::chrono::milliseconds(0), listener_.period_,
                                    [this](wharf::Session &s) { releaseOne(s); });
        ticking_ = true;
      }
      if (!paused_ && waiting_.size() >= listener_.backlog_) {
        session.pauseInput(true);
        paused_ = true;
        listener_.pauses_.add(1);
        session.log(WHARF_LOG_INFO,
                    "pausing input: " + std::to_string(waiting_.size()) + " lines waiting");
      }
    }

   private:
    void releaseOne(wharf::Session &session) {
      if (waiting_.empty()) {
        timer_.cancel();  // from its own callback: released once it returns
        ticking_ = false;
        return;
      }
      session.write(waiting_.front() + "\n");
      waiting_.pop_front();
      if (paused_ && waiting_.size() <= listener_.backlog_ / 2) {
        session.pauseInput(false);
        paused_ = false;
      }
    }

    Paced &listener_;
    std::string line_;
    std::deque<std::string> waiting_;
    wharf::Timer timer_;  // cancelled with the session state, if still running
    bool ticking_ = false;
    bool paused_ = false;
  };

 private:
  static long number(wharf::Instance &instance, const char *key, long fallback) {
    auto text = instance.option(key);
    if (!text) return fallback;
    long value = 0;
    try {
      value = std::stol(std::string(*text));
    } catch (const std::exception &) {
      throw wharf::Error(std::string(key) + " must be a number");
    }
    if (value < 1 || value > 100000)
      throw wharf::Error(std::string(key) + " must be between 1 and 100000");
    return value;
  }

  std::chrono::milliseconds period_;
  size_t backlog_;
  wharf::Metric pauses_;
};

WHARF_PLUGIN(Paced, "paced", "1.0.0", "echoes lines, at most so many a second",
             WHARF_CAP_EVENT | WHARF_CAP_STREAM | WHARF_CAP_CONCURRENT | WHARF_CAP_FORK_SAFE)
