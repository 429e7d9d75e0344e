#include "config/ConfigLoader.h"

#include <gtest/gtest.h>

#include "config/ConfigError.h"
#include "dispatch/DispatchMode.h"

using namespace wharf::config;

namespace {

// Plugin paths must exist: point plugin_dir at the shipped plugins.
const std::string kHost = std::string("[host]\nplugin_dir = ") + WHARF_SHIPPED_PLUGIN_DIR + "\n";

Config build(const std::string &text) {
  ConfigLoader loader({"/default/plugins", wharf::dispatch::dispatchModeDescriptions()});
  return loader.build(IniDocument::parse("/etc/wharf/wharf.ini", text));
}

std::string errorOf(const std::string &text) {
  try {
    build(text);
  } catch (const ConfigError &error) {
    return error.what();
  }
  return "no error";
}

const std::string kListener =
    "[listener.e]\ntransport = tcp\nlisten = 127.0.0.1:7007\nmode = sync\nplugin = echo\n";

}  // namespace

TEST(ConfigLoader, BuildsListenersWithOptionsInOrder) {
  Config config = build(kHost + "admin = run/admin.sock\nlog_level = debug\n" + kListener +
                        "option.b = 2\noption.a = 1\nbacklog = 64\n");
  EXPECT_EQ(config.host.adminSocket, "/etc/wharf/run/admin.sock");
  EXPECT_EQ(config.host.logLevel, "debug");
  ASSERT_EQ(config.listeners.size(), 1u);
  const ListenerConfig &listener = config.listeners[0];
  EXPECT_EQ(listener.name, "e");
  EXPECT_EQ(listener.mode, "sync");
  EXPECT_EQ(listener.pluginPath, std::string(WHARF_SHIPPED_PLUGIN_DIR) + "/echo.so");
  EXPECT_EQ(listener.backlog, 64);
  ASSERT_EQ(listener.options.size(), 2u);
  EXPECT_EQ(listener.options[0].key, "b");
  EXPECT_EQ(listener.options[1].value, "1");
}

TEST(ConfigLoader, DefaultsModeToThreadAndBacklogToSomaxconn) {
  Config config = build(kHost + "[listener.e]\ntransport = udp\nlisten = [::1]:7\nplugin = echo\n");
  EXPECT_EQ(config.listeners[0].mode, "thread");
  EXPECT_EQ(config.listeners[0].backlog, SOMAXCONN);
}

TEST(ConfigLoader, ResolvesRelativeUnixPathsAndPluginPathsAgainstTheConfigFolder) {
  Config config = build(std::string("[listener.u]\ntransport = unix\nlisten = run/e.sock\n"
                                    "plugin = ") +
                        WHARF_SHIPPED_PLUGIN_DIR + "/echo.so\n");
  EXPECT_EQ(config.listeners[0].endpoint.text, "/etc/wharf/run/e.sock");
  EXPECT_EQ(config.listeners[0].pluginPath, std::string(WHARF_SHIPPED_PLUGIN_DIR) + "/echo.so");
}

TEST(ConfigLoader, NamesFileLineSectionAndKeyOfEachError) {
  EXPECT_EQ(errorOf(kHost + kListener + "colour = blue\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] colour: unknown key");
  EXPECT_EQ(errorOf(kHost + "verbose = 1\n" + kListener),
            "/etc/wharf/wharf.ini:3: [host] verbose: unknown key");
  EXPECT_EQ(errorOf(kHost + "[listener.e]\ntransport = sctp\nlisten = 1.2.3.4:5\nplugin = echo\n"),
            "/etc/wharf/wharf.ini:4: [listener.e] transport: unknown transport 'sctp' (expected "
            "tcp, udp, unix, unix-dgram)");
  EXPECT_EQ(errorOf(kHost + "[listener.e]\ntransport = tcp\nlisten = 1.2.3.4\nplugin = echo\n"),
            "/etc/wharf/wharf.ini:5: [listener.e] listen: bad address '1.2.3.4': expected "
            "host:port");
  EXPECT_EQ(errorOf(kHost + "[listener.e]\ntransport = tcp\nlisten = 1.2.3.4:5\nmode = fast\n"
                            "plugin = echo\n"),
            "/etc/wharf/wharf.ini:6: [listener.e] mode: unknown mode 'fast' (expected one of "
            "sync, thread, pool, fork, reactor)");
  EXPECT_EQ(errorOf(kHost + "[listener.e]\ntransport = tcp\nlisten = 1.2.3.4:5\n"),
            "/etc/wharf/wharf.ini:3: [listener.e] plugin: missing (required)");
  EXPECT_EQ(errorOf(kHost + "[listener.e]\ntransport = tcp\nlisten = 1.2.3.4:5\nplugin = nope\n"),
            "/etc/wharf/wharf.ini:6: [listener.e] plugin: plugin 'nope' not found: no file " +
                std::string(WHARF_SHIPPED_PLUGIN_DIR) + "/nope.so");
  EXPECT_EQ(
      errorOf(kHost + kListener + "backlog = -3\n"),
      "/etc/wharf/wharf.ini:8: [listener.e] backlog: '-3' is not a whole number from 1 to 65535");
  EXPECT_EQ(errorOf(kHost + "log_level = loud\n" + kListener),
            "/etc/wharf/wharf.ini:3: [host] log_level: unknown level 'loud' (expected fatal, "
            "critical, error, warning, notice, information, debug, trace)");
  EXPECT_EQ(errorOf(kHost + "[listeners.e]\n"),
            "/etc/wharf/wharf.ini:3: [listeners.e] unknown section (expected [host] or "
            "[listener.NAME])");
  EXPECT_EQ(errorOf(kHost), "/etc/wharf/wharf.ini: no [listener.NAME] section: nothing to serve");
}

TEST(ConfigLoader, ReadsLimitsDurationsAndNetworks) {
  Config config = build(kHost + "shutdown_timeout = 2.5s\n" + kListener +
                        "max_connections = 100\nmax_per_source = 4\naccept_rate = 50.5\n"
                        "idle_timeout = 500ms\nallow = 10.0.0.0/8, ::1\ndeny = 10.9.0.0/16\n");
  EXPECT_EQ(config.host.shutdownTimeout, std::chrono::milliseconds(2500));
  const ListenerLimits &limits = config.listeners[0].limits;
  EXPECT_EQ(limits.maxConnections, 100u);
  EXPECT_EQ(limits.maxPerSource, 4u);
  EXPECT_DOUBLE_EQ(limits.acceptRate, 50.5);
  EXPECT_EQ(limits.idleTimeout, std::chrono::milliseconds(500));
  ASSERT_EQ(limits.allow.size(), 2u);
  EXPECT_EQ(limits.allow[1].text(), "::1");
  EXPECT_EQ(limits.deny[0].prefixLength(), 16);
}

const std::string kPool =
    "[listener.p]\ntransport = tcp\nlisten = 127.0.0.1:9\nmode = pool\nplugin = echo\n";

TEST(ConfigLoader, TakesModeKeysOnlyForTheirMode) {
  Config config = build(kHost + kPool + "pool_threads = 3\nqueue = 0\n");
  EXPECT_EQ(config.listeners[0].pool.workers, 3u);
  EXPECT_EQ(config.listeners[0].pool.queue, 0u);
  EXPECT_TRUE(config.warnings.empty());
  EXPECT_EQ(errorOf(kHost + kListener + "pool_threads = 3\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] pool_threads: applies to mode = pool only");
  EXPECT_EQ(errorOf(kHost + kPool + "pool_threads = 0\n"),
            "/etc/wharf/wharf.ini:8: [listener.p] pool_threads: '0' is not a whole number from 1 "
            "to 4096");
}

// A pool's threads were `workers`, as [host] calls its processes: the old name
// still works, with a warning that names its line.
TEST(ConfigLoader, APoolsOldWorkersKeyStillWorksAndIsWarnedOf) {
  Config config = build(kHost + kPool + "workers = 5\n");
  EXPECT_EQ(config.listeners[0].pool.workers, 5u);
  EXPECT_EQ(config.warnings,
            std::vector<std::string>{"/etc/wharf/wharf.ini:8: [listener.p] workers: renamed "
                                     "pool_threads (the threads of a pool; [host] workers are "
                                     "processes): rename it"});
  EXPECT_EQ(errorOf(kHost + kPool + "workers = 5\npool_threads = 6\n"),
            "/etc/wharf/wharf.ini:8: [listener.p] workers: the old name of pool_threads: give "
            "one of them");
}

TEST(ConfigLoader, RejectsLimitsThatDoNotFitTheTransport) {
  std::string unixListener =
      "[listener.u]\ntransport = unix\nlisten = /run/u.sock\nplugin = echo\n";
  EXPECT_EQ(errorOf(kHost + unixListener + "allow = 10.0.0.0/8\n"),
            "/etc/wharf/wharf.ini:7: [listener.u] allow: applies to tcp and udp only (unix peers "
            "have no IP)");
  EXPECT_EQ(errorOf(kHost + kListener + "max_datagram = 512\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] max_datagram: applies to datagram transports "
            "only");
  EXPECT_EQ(errorOf(kHost + kListener + "allow = 10.0.0.0/33\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] allow: '10.0.0.0/33': the prefix length must "
            "be 0 to 32");
  EXPECT_EQ(errorOf(kHost + kListener + "idle_timeout = soon\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] idle_timeout: 'soon' is not a duration (e.g. "
            "30, 30s, 500ms, 2m, 1h)");
}

// 2^64 was read as 0 (a queue of 0), and 0.5ms as 0, which turns idle_timeout off.
TEST(ConfigLoader, RefusesCountsThatDoNotFitAndDurationsBelowAMillisecond) {
  EXPECT_EQ(errorOf(kHost + kListener + "backlog = 18446744073709551616\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] backlog: '18446744073709551616' is not a whole "
            "number from 1 to 65535");
  EXPECT_EQ(errorOf(kHost + kListener + "backlog = +64\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] backlog: '+64' is not a whole number from 1 to "
            "65535");
  EXPECT_EQ(errorOf(kHost + kListener + "idle_timeout = 0.5ms\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] idle_timeout: '0.5ms' is shorter than 1ms, the "
            "smallest step of a duration (from 1ms to 168h, or 0)");
  EXPECT_EQ(build(kHost + kListener + "idle_timeout = 0\n").listeners[0].limits.idleTimeout.count(),
            0);
}

TEST(ConfigLoader, RejectsADuplicateListenAddress) {
  std::string second =
      "[listener.f]\ntransport = tcp\nlisten = 127.0.0.1:7007\nmode = sync\nplugin = echo\n";
  EXPECT_EQ(errorOf(kHost + kListener + second),
            "/etc/wharf/wharf.ini:10: [listener.f] listen: address already used by [listener.e]");
  // The same address on another socket type is a different listener.
  std::string udp = "[listener.f]\ntransport = udp\nlisten = 127.0.0.1:7007\nplugin = echo\n";
  EXPECT_EQ(build(kHost + kListener + udp).listeners.size(), 2u);
}

TEST(ConfigLoader, ReadsTheReloadKeys) {
  Config defaults = build(kHost + kListener);
  EXPECT_EQ(defaults.host.drainTimeout, std::chrono::minutes(10));
  EXPECT_EQ(defaults.host.maxGenerations, 4u);
  EXPECT_FALSE(defaults.host.watch);
  Config config =
      build(kHost + "drain_timeout = 90s\nmax_generations = 2\nwatch = yes\n" + kListener);
  EXPECT_EQ(config.host.drainTimeout, std::chrono::seconds(90));
  EXPECT_EQ(config.host.maxGenerations, 2u);
  EXPECT_TRUE(config.host.watch);
  EXPECT_EQ(
      errorOf(kHost + "max_generations = 1\n" + kListener),
      "/etc/wharf/wharf.ini:3: [host] max_generations: '1' is not a whole number from 2 to 64");
  EXPECT_EQ(errorOf(kHost + "watch = maybe\n" + kListener),
            "/etc/wharf/wharf.ini:3: [host] watch: 'maybe' is not a yes/no value (true, yes, on, "
            "false, no, off)");
}

TEST(ConfigLoader, ListenersOfTheSameShapeDifferOnlyInPluginAndOptions) {
  Config base = build(kHost + kListener);
  Config otherPlugin = build(kHost + kListener + "option.x = 1\n");
  otherPlugin.listeners[0].pluginPath = "/elsewhere/echo.so";
  EXPECT_TRUE(base.listeners[0].sameShapeAs(otherPlugin.listeners[0]));
  for (const std::string &change :
       {std::string("max_connections = 5\n"), std::string("backlog = 7\n"),
        std::string("allow = 10.0.0.0/8\n")}) {
    Config other = build(kHost + kListener + change);
    EXPECT_FALSE(base.listeners[0].sameShapeAs(other.listeners[0])) << change;
  }
  Config otherMode = build(kHost + kListener);
  otherMode.listeners[0].mode = "thread";
  EXPECT_FALSE(base.listeners[0].sameShapeAs(otherMode.listeners[0]));
}

TEST(ConfigLoader, ReadsTheProcessModel) {
  Config config = build(kHost + "workers = 3\nuser = nobody\ngroup = nogroup\n" + kListener +
                        "isolate = yes\n");
  EXPECT_EQ(config.host.workers, 3u);
  EXPECT_EQ(config.host.user, "nobody");
  EXPECT_EQ(config.host.group, "nogroup");
  EXPECT_TRUE(config.listeners[0].isolate);
  Config defaults = build(kHost + kListener);
  EXPECT_EQ(defaults.host.workers, 1u);
  EXPECT_EQ(defaults.host.user, "");
  EXPECT_FALSE(defaults.listeners[0].isolate);
  EXPECT_GE(build(kHost + "workers = auto\n" + kListener).host.workers, 1u);
}

TEST(ConfigLoader, RefusesBadProcessModelValuesByKey) {
  EXPECT_EQ(errorOf(kHost + "workers = 0\n" + kListener),
            "/etc/wharf/wharf.ini:3: [host] workers: '0' is not a whole number from 1 to 256");
  EXPECT_EQ(errorOf(kHost + "workers = 257\n" + kListener),
            "/etc/wharf/wharf.ini:3: [host] workers: '257' is not a whole number from 1 to 256");
  EXPECT_EQ(errorOf(kHost + "user = no-such-user-here\n" + kListener),
            "/etc/wharf/wharf.ini:3: [host] user: no such user 'no-such-user-here'");
  EXPECT_EQ(errorOf(kHost + "group = nogroup\n" + kListener),
            "/etc/wharf/wharf.ini:3: [host] group: needs user (the workers' user)");
  EXPECT_EQ(errorOf(kHost + "user = nobody\ngroup = no-such-group-here\n" + kListener),
            "/etc/wharf/wharf.ini:4: [host] group: no such group 'no-such-group-here'");
  EXPECT_EQ(errorOf(kHost + kListener + "isolate = maybe\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] isolate: 'maybe' is not a yes/no value (true, "
            "yes, on, false, no, off)");
}

TEST(ConfigLoader, DefaultLimitsHoldWhereASessionHoldsAThread) {
  Config thread =
      build(kHost + "[listener.e]\ntransport = tcp\nlisten = 127.0.0.1:7\nplugin = echo\n");
  EXPECT_EQ(thread.listeners[0].limits.maxConnections, kThreadModeSessions);
  EXPECT_EQ(thread.listeners[0].limits.idleTimeout, kBlockingIdleTimeout);
  EXPECT_FALSE(thread.listeners[0].waitForData);  // the plugin decides (WHARF_CAP_CLIENT_FIRST)
  Config reactor = build(kHost +
                         "[listener.e]\ntransport = tcp\nlisten = 127.0.0.1:7\nplugin = echo\n"
                         "mode = reactor\n");
  EXPECT_EQ(reactor.listeners[0].limits.idleTimeout.count(), 0);  // a silent peer costs no thread
  EXPECT_GE(reactor.listeners[0].limits.maxConnections, 1u);
  Config off = build(kHost +
                     "[listener.e]\ntransport = tcp\nlisten = 127.0.0.1:7\nplugin = echo\n"
                     "idle_timeout = 0\n");
  EXPECT_EQ(off.listeners[0].limits.idleTimeout.count(), 0);
  Config datagrams = build(kHost +
                           "[listener.e]\ntransport = udp\nlisten = 127.0.0.1:7\n"
                           "plugin = echo\n");
  EXPECT_EQ(datagrams.listeners[0].limits.idleTimeout.count(), 0);
}

TEST(ConfigLoader, UdpListenersHaveADefaultDatagramRatePerSource) {
  auto limitsOf = [](const std::string &transport, const std::string &keys) {
    return build(kHost + "[listener.e]\ntransport = " + transport +
                 "\nlisten = 127.0.0.1:7\nplugin = echo\n" + keys)
        .listeners[0]
        .limits;
  };
  ListenerLimits udp = limitsOf("udp", "");
  EXPECT_EQ(udp.datagramRate, kDefaultDatagramRate);
  EXPECT_TRUE(udp.datagramRateSparesLoopback);
  ListenerLimits set = limitsOf("udp", "datagram_rate = 0.5\n");
  EXPECT_EQ(set.datagramRate, 0.5);
  EXPECT_FALSE(set.datagramRateSparesLoopback);
  EXPECT_EQ(limitsOf("udp", "datagram_rate = 0\n").datagramRate, 0);  // off
  EXPECT_EQ(limitsOf("tcp", "").datagramRate, 0);
  EXPECT_EQ(errorOf(kHost + kListener + "datagram_rate = 5\n"),
            "/etc/wharf/wharf.ini:8: [listener.e] datagram_rate: applies to udp only");
  EXPECT_EQ(errorOf(kHost + "[listener.e]\ntransport = udp\nlisten = 127.0.0.1:7\nplugin = echo\n"
                            "datagram_rate = 1000000001\n"),
            "/etc/wharf/wharf.ini:7: [listener.e] datagram_rate: '1000000001' is more than "
            "1000000000");
}

TEST(ConfigLoader, OneAddressGetsAnEighthOfAListenerByDefault) {
  auto limitsOf = [](const std::string &keys) {
    return build(kHost + "[listener.e]\ntransport = tcp\nlisten = 127.0.0.1:7\nplugin = echo\n" +
                 keys)
        .listeners[0]
        .limits;
  };
  ListenerLimits thread = limitsOf("");
  EXPECT_EQ(thread.maxPerSource, kThreadModeSessions / 8);
  EXPECT_TRUE(thread.perSourceSparesLoopback);
  EXPECT_EQ(limitsOf("mode = pool\nworkers = 40\n").maxPerSource, 5u);  // of the workers
  EXPECT_EQ(limitsOf("mode = pool\n").maxPerSource, kPerSourceFloor);   // 8 workers: the floor
  EXPECT_EQ(limitsOf("mode = fork\nmax_children = 64\n").maxPerSource, 8u);
  EXPECT_EQ(limitsOf("mode = pool\nworkers = 4\n").maxPerSource, 2u);  // half, below the floor
  EXPECT_EQ(limitsOf("mode = pool\nworkers = 1\n").maxPerSource, 1u);
  EXPECT_EQ(limitsOf("max_connections = 800\n").maxPerSource, 100u);
  ListenerLimits set = limitsOf("max_per_source = 0\n");  // off, as asked
  EXPECT_EQ(set.maxPerSource, 0u);
  EXPECT_FALSE(set.perSourceSparesLoopback);
  EXPECT_FALSE(limitsOf("max_per_source = 2\n").perSourceSparesLoopback);
  Config unixListener = build(kHost +
                              "[listener.u]\ntransport = unix\nlisten = /tmp/u.sock\n"
                              "plugin = echo\n");
  EXPECT_EQ(unixListener.listeners[0].limits.maxPerSource, 0u);  // unix peers have no address
}

TEST(ConfigLoader, ReactorPeersThatDoNotReadAreBoundedByDefault) {
  std::string reactor =
      "[listener.r]\ntransport = tcp\nlisten = 127.0.0.1:7\nplugin = echo\nmode = reactor\n";
  Config config = build(kHost + reactor);
  EXPECT_EQ(config.listeners[0].reactor.sendTimeout, std::chrono::seconds(60));
  EXPECT_GE(config.host.outputBudget, size_t{1} << 20);
  EXPECT_LE(config.host.outputBudget, kMaxDefaultOutputBudget);
  // The default is each worker's share: all of them together stay within it.
  Config four = build(kHost + "workers = 4\n" + reactor);
  EXPECT_EQ(four.host.outputBudget, std::max(size_t{1} << 20, config.host.outputBudget / 4));
  Config set = build(kHost + "output_budget = 8388608\n" + reactor + "send_timeout = 0\n");
  EXPECT_EQ(set.host.outputBudget, 8u << 20);
  EXPECT_EQ(set.listeners[0].reactor.sendTimeout.count(), 0);
  EXPECT_EQ(errorOf(kHost + "output_budget = 1000\n" + reactor),
            "/etc/wharf/wharf.ini:3: [host] output_budget: '1000' is not a whole number from "
            "1048576 to 1099511627776");
  EXPECT_EQ(errorOf(kHost + "[listener.u]\ntransport = udp\nlisten = 127.0.0.1:7\nplugin = echo\n"
                            "mode = reactor\nsend_timeout = 5s\n"),
            "/etc/wharf/wharf.ini:8: [listener.u] send_timeout: applies to stream transports only");
}
