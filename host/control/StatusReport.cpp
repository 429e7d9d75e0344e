#include "control/StatusReport.h"

#include <Poco/JSON/Array.h>
#include <unistd.h>

namespace wharf::control {

void reportStatus(const std::vector<std::unique_ptr<listener::Listener>> &listeners,
                  Poco::JSON::Object &reply) {
  reply.set("version", std::string(WHARF_VERSION));
  reply.set("pid", static_cast<int>(::getpid()));
  Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
  for (const auto &listener : listeners) {
    const auto &config = listener->config();
    const auto &plugin = listener->instance().plugin();
    Poco::JSON::Object::Ptr pluginInfo = new Poco::JSON::Object;
    pluginInfo->set("name", plugin.name());
    pluginInfo->set("version", plugin.version());
    pluginInfo->set("file", plugin.file().string());
    pluginInfo->set("generation", 1);
    Poco::JSON::Object::Ptr sessions = new Poco::JSON::Object;
    sessions->set("active", listener->counters().active.load());
    sessions->set("total", listener->counters().total.load());
    Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
    entry->set("name", config.name);
    entry->set("transport", std::string(net::transportName(config.endpoint.transport)));
    entry->set("listen", listener->boundAddress());
    entry->set("mode", config.mode);
    entry->set("plugin", pluginInfo);
    entry->set("sessions", sessions);
    list->add(entry);
  }
  reply.set("listeners", list);
}

}  // namespace wharf::control
