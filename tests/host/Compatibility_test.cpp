// A listener is refused when its plugin cannot serve its transport or mode,
// or when the plugin's instance hook refuses its options.
#include "listener/Compatibility.h"

#include <gtest/gtest.h>

#include "listener/Listener.h"
#include "listener/ListenerError.h"
#include "plugin/PluginError.h"

using namespace wharf;

namespace {

std::string fixture(const std::string &name) {
  return std::string(WHARF_TEST_PLUGIN_DIR) + "/" + name + ".so";
}

config::ListenerConfig listenerConfig(net::Transport transport, const std::string &mode) {
  config::ListenerConfig config;
  config.name = "t";
  config.endpoint =
      net::parseEndpoint(transport, net::isUnix(transport) ? "/tmp/x.sock" : "127.0.0.1:1");
  config.mode = mode;
  return config;
}

template <typename Error>
std::string refusal(const config::ListenerConfig &config, const std::string &plugin) {
  try {
    listener::Listener listener(config);
    listener.load(plugin::Plugin::load(fixture(plugin)));
  } catch (const Error &error) {
    return error.what();
  }
  return "accepted";
}

}  // namespace

TEST(Compatibility, RefusesADatagramTransportForAStreamOnlyPlugin) {
  EXPECT_EQ(
      refusal<listener::ListenerError>(listenerConfig(net::Transport::Udp, "sync"), "stream_only"),
      "listener [listener.t]: plugin 'stream-only' (" + fixture("stream_only") +
          ") in mode 'sync': the plugin does not serve datagram transports (udp)");
  EXPECT_EQ(
      refusal<listener::ListenerError>(listenerConfig(net::Transport::Tcp, "sync"), "stream_only"),
      "accepted");
}

TEST(Compatibility, RefusesConcurrentModesForAPluginThatIsNotConcurrent) {
  EXPECT_EQ(refusal<listener::ListenerError>(listenerConfig(net::Transport::Tcp, "thread"),
                                             "not_concurrent"),
            "listener [listener.t]: plugin 'not-concurrent' (" + fixture("not_concurrent") +
                ") in mode 'thread': the mode runs sessions concurrently and the plugin does not "
                "declare WHARF_CAP_CONCURRENT; use mode = sync");
  EXPECT_EQ(refusal<listener::ListenerError>(listenerConfig(net::Transport::Tcp, "sync"),
                                             "not_concurrent"),
            "accepted");
}

TEST(Compatibility, RunsBlockingOnlyPluginsInBlockingModes) {
  EXPECT_EQ(refusal<listener::ListenerError>(listenerConfig(net::Transport::UnixDgram, "thread"),
                                             "blocking_echo"),
            "accepted");
}

TEST(Compatibility, PassesTheInstanceHooksOwnRefusal) {
  config::ListenerConfig config = listenerConfig(net::Transport::Tcp, "sync");
  EXPECT_EQ(refusal<plugin::PluginError>(config, "instance_refuses"),
            "plugin " + fixture("instance_refuses") +
                ": 'instance-refuses' refused listener [listener.t]: option.required is missing");
  config.options.push_back({"required", "yes"});
  EXPECT_EQ(refusal<plugin::PluginError>(config, "instance_refuses"), "accepted");
}

TEST(Compatibility, RefusesABlockingOnlyPluginInAnEventOnlyMode) {
  // The reactor will be such a mode; the rule is the mode's, not the name's.
  const dispatch::DispatchMode eventOnly{"event-only", false, 0, false, nullptr, {}, {}};
  config::ListenerConfig config = listenerConfig(net::Transport::Tcp, "event-only");
  try {
    listener::checkCompatibility(config, eventOnly,
                                 *plugin::Plugin::load(fixture("blocking_echo")));
    FAIL() << "accepted";
  } catch (const listener::ListenerError &error) {
    EXPECT_EQ(std::string(error.what()),
              "listener [listener.t]: plugin 'blocking-echo' (" + fixture("blocking_echo") +
                  ") in mode 'event-only': the plugin is blocking-style only (serve) and this "
                  "mode runs event-style plugins only");
  }
}
