// xfer: the socketserver tutorials' file server, in both of their dialects
// (option.dialect = framed | pipe), safe and fast. Event hooks on the reactor;
// serve() with splice(2) uploads and sendfile(2) downloads in sync, thread, pool and fork.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <wharf/wharf.hpp>

#include "BlockingChannel.h"
#include "Conversation.h"
#include "Dialect.h"
#include "EventChannel.h"
#include "SocketToFile.h"
#include "Store.h"
#include "XferOptions.h"

namespace xfer {
namespace {

constexpr size_t kBlockingRead = 1 << 20;

XferOptions optionsOf(const wharf::Instance &instance) {
  std::vector<std::pair<std::string, std::string>> options;
  for (size_t i = 0; i < instance.optionCount(); ++i) {
    auto [key, value] = instance.optionAt(i);
    options.emplace_back(key, value);
  }
  return XferOptions::parse(options);
}

}  // namespace

class XferListener {
 public:
  explicit XferListener(wharf::Instance &instance)
      : options_(optionsOf(instance)),
        store_(options_.root),
        inFlight_(options_.maxInFlight, options_.maxInFlightPerSource()),
        dialect_(Dialect::make(options_)) {}

  // An event-style session.
  class Session {
   public:
    Session(XferListener &listener, wharf::Session &session)
        : channel_(session),
          conversation_(*listener.dialect_, listener.store_, listener.inFlight_, listener.options_,
                        channel_) {
      // The reactor has no idle_timeout by default: an upload that stalls
      // would hold its claim on max_in_flight and the disk for good.
      if (auto every = listener.options_.stallTimeout; every.count() > 0)
        stallCheck_ = session.startTimer(
            every, every, [this](wharf::Session &) { conversation_.checkProgress(); });
    }
    void onData(wharf::Session &, wharf::Bytes data) {
      conversation_.receive(
          std::string_view(reinterpret_cast<const char *>(data.data()), data.size()));
    }
    void onWritable(wharf::Session &) {
      if (channel_.sending() && channel_.sendMore()) conversation_.fileSent();
    }

   private:
    EventChannel channel_;
    Conversation conversation_;
    wharf::Timer stallCheck_;
  };

  void serve(wharf::Session &session) {
    BlockingChannel channel(session);
    Conversation conversation(*dialect_, store_, inFlight_, options_, channel);
    SocketToFile splicer(session.socket());
    std::vector<char> buffer(kBlockingRead);
    while (!conversation.closed()) {
      if (auto upload = conversation.uploadDestination(); upload && splicer.usable()) {
        try {  // kernel to kernel, as downloads go with sendfile
          size_t moved = splicer.move(upload->file, static_cast<size_t>(std::min<uint64_t>(
                                                        upload->remaining, kBlockingRead)));
          session.countBytes(WHARF_BYTES_SESSION_SOCKET, moved, 0);  // past the host: say so
          conversation.storedDirectly(moved);
        } catch (const SocketToFile::SocketEnded &ended) {
          if (ended.why != SocketToFile::End::Peer) session.log(WHARF_LOG_NOTICE, ended.what());
          return;
        } catch (const std::runtime_error &failure) {
          conversation.storeFailed(failure.what());
        }
        continue;
      }
      size_t got = 0;
      try {
        got = session.read(buffer.data(), buffer.size());
      } catch (const wharf::Error &) {  // closed, reset or idle_timeout: the host logged it
        return;
      }
      if (got == 0) return;
      conversation.receive(std::string_view(buffer.data(), got));
    }
  }

 private:
  XferOptions options_;
  Store store_;
  InFlight inFlight_;
  std::unique_ptr<Dialect> dialect_;
};

}  // namespace xfer

WHARF_PLUGIN(xfer::XferListener, "xfer", "1.0.0",
             "the socketserver tutorials' file transfer protocols (framed, pipe)",
             WHARF_CAP_EVENT | WHARF_CAP_BLOCKING | WHARF_CAP_STREAM | WHARF_CAP_CONCURRENT |
                 WHARF_CAP_FORK_SAFE | WHARF_CAP_CLIENT_FIRST)
