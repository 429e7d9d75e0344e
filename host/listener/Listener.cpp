#include "listener/Listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <chrono>
#include <fstream>
#include <string>

#include "listener/Compatibility.h"
#include "listener/ListenerError.h"

namespace wharf::listener {
namespace {

const dispatch::DispatchMode &modeNamed(const config::ListenerConfig &config) {
  const dispatch::DispatchMode *mode = dispatch::findDispatchMode(config.mode);
  if (mode == nullptr)
    throw ListenerError("listener [" + config.section() + "]: unknown mode '" + config.mode + "'");
  return *mode;
}

GenerationPtr makeGeneration(uint64_t number, const config::ListenerConfig &config,
                             const dispatch::DispatchMode &mode,
                             std::shared_ptr<const plugin::Plugin> plugin,
                             std::shared_ptr<plugin::PluginMetrics> metrics) {
  checkCompatibility(config, mode, *plugin);
  session::Style style = mode.styleFor(*plugin);
  return std::make_shared<Generation>(
      number,
      std::make_unique<plugin::PluginInstance>(
          std::move(plugin), config, std::move(metrics),
          // mode = fork: sessions run in processes the clock's thread is not in.
          mode.startsOnlyAtLaunch ? plugin::ClockThread::Refused : plugin::ClockThread::Allowed),
      style);
}

std::unique_ptr<session::AccessLog> accessLogOf(const config::ListenerConfig &config) {
  if (config.accessLog.empty()) return nullptr;
  try {
    // A tag of their own: syslog routes access lines apart from the daemon's.
    return std::make_unique<session::AccessLog>(
        logging::openLineSink(config.accessLog, "wharfd-access"), config.accessLogFormat,
        config.logEmptySessions);
  } catch (const std::exception &error) {
    throw ListenerError("listener [" + config.section() + "]: access_log: " + error.what());
  }
}

// Past the SYN queue (backlog), the kernel hands deferred connections over
// through SYN cookies; with cookies off, silent peers that fill it keep
// everyone else out.
bool synCookiesOff() {
  std::ifstream setting("/proc/sys/net/ipv4/tcp_syncookies");
  int value = 1;
  return setting >> value && value == 0;
}

}  // namespace

Listener::Listener(const config::ListenerConfig &config)
    : config_(config),
      mode_(modeNamed(config)),
      logger_(Poco::Logger::get("listener." + config.name)),
      admission_(config_.limits),
      traffic_(session::Traffic::create()),
      accessLog_(accessLogOf(config_)),
      metrics_(std::make_shared<plugin::PluginMetrics>()),
      tls_(config_.tls.enabled ? std::make_shared<tls::ContextSlot>(
                                     config_.tls, tls::TicketKeys::forListener(config_.name))
                               : nullptr) {}

Listener::~Listener() {
  handOver();  // the socket closes with its last owner
  drain();
}

void Listener::load(std::shared_ptr<const plugin::Plugin> plugin) {
  GenerationPtr first = makeGeneration(1, config_, mode_, std::move(plugin), metrics_);
  adopt(*first);
  if (dispatcher_) deferAccept(*first);
  generations_.install(std::move(first), {});
}

GenerationPtr Listener::prepareGeneration(const config::ListenerConfig &config,
                                          std::shared_ptr<const plugin::Plugin> plugin) const {
  return makeGeneration(current()->number() + 1, config, mode_, std::move(plugin), metrics_);
}

void Listener::adopt(const Generation &next) {
  if (dispatcher_) dispatcher_->adopt(next);
}

void Listener::deferAccept() {
  if (GenerationPtr serving = current(); serving && dispatcher_) deferAccept(*serving);
}

void Listener::install(GenerationPtr next, const DrainLimits &limits,
                       const config::MigrationSettings &migration) {
  if (dispatcher_) deferAccept(*next);
  generations_.install(std::move(next), limits);
  if (dispatcher_)
    dispatcher_->migrateSessions(migration.enabled ? std::optional(migration.timeout)
                                                   : std::nullopt);
}

void Listener::bind(std::shared_ptr<net::ListenSocket> socket) {
  socket_ = std::move(socket);
  dispatcher_ = mode_.create({config_, generations_, *socket_, admission_, logger_, *traffic_,
                              accessLog_.get(), metrics_, tls_});
  if (GenerationPtr first = current()) {  // loaded before binding
    dispatcher_->adopt(*first);
    deferAccept(*first);
  }
}

// The kernel hands over a TCP connection only once data has come, for as
// long as the listener would wait for it anyway: the PROXY header, which
// comes first, up to proxy_timeout; else a client-first peer's first bytes
// (wait_for_data). A silent peer costs no descriptor and no wake-up
// meanwhile. 0: at once.
void Listener::deferAccept(const Generation &serving) {
  if (!socket_ || !socket_->tunable() || config_.endpoint.transport != net::Transport::Tcp) return;
  std::chrono::milliseconds wait =
      config_.proxy.enabled() ? config_.proxy.timeout : dispatcher_->waitForData(serving);
  int seconds = static_cast<int>(std::chrono::ceil<std::chrono::seconds>(wait).count());
  ::setsockopt(socket_->fd(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds);
  if (seconds > 0 && !synCookiesWarned_ && synCookiesOff()) {
    synCookiesWarned_ = true;
    logger_.warning("connections wait for their first data in the kernel (TCP_DEFER_ACCEPT, " +
                    std::to_string(seconds) +
                    " s), but net.ipv4.tcp_syncookies is 0: silent peers that fill the SYN "
                    "queue (backlog) keep other clients out; set it to 1, the default");
  }
}

void Listener::start() {
  dispatcher_->start();
  started_ = true;
}

void Listener::stopAccepting() {
  handOver();
  if (socket_) socket_->stopAccepting();
}

void Listener::handOver() {
  if (started_) dispatcher_->stopAccepting();
}

size_t Listener::cutSessions(session::CutReason why) {
  size_t queued = dispatcher_ ? dispatcher_->cutHeldSessions() : 0;
  return queued + generations_.cutAll(why);
}

void Listener::drain() {
  if (started_) dispatcher_->drain();
  started_ = false;
}

}  // namespace wharf::listener
