#include "ctl/StatusTable.h"

#include <Poco/JSON/Array.h>

#include <algorithm>
#include <string>
#include <vector>

namespace wharf::ctl {

namespace {

void printRows(const std::vector<std::vector<std::string>> &rows, std::ostream &out) {
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto &row : rows)
    for (size_t column = 0; column < row.size(); ++column)
      widths[column] = std::max(widths[column], row[column].size());
  for (const auto &row : rows) {
    for (size_t column = 0; column < row.size(); ++column) {
      out << row[column];
      if (column + 1 < row.size()) out << std::string(widths[column] - row[column].size() + 2, ' ');
    }
    out << "\n";
  }
}

std::string seconds(const Poco::JSON::Object &object, const std::string &key) {
  return std::to_string(object.optValue<int64_t>(key, 0) / 1000) + "s";
}

}  // namespace

void printStatusTable(const Poco::JSON::Object &status, std::ostream &out) {
  out << "wharfd " << status.getValue<std::string>("version") << " (build "
      << status.optValue<std::string>("build", "unknown") << "), master pid "
      << status.getValue<int>("pid") << " (" << status.optValue<std::string>("user", "?")
      << "), up " << seconds(status, "uptime_ms") << ", upgrades "
      << status.optValue<uint64_t>("upgrades", 0) << "\n\n";
  std::vector<std::vector<std::string>> workerRows = {
      {"WORKER", "GROUP", "STATE", "USER", "UPTIME", "RESTARTS", "VERSION"}};
  Poco::JSON::Array::Ptr workers = status.getArray("workers");
  for (size_t i = 0; workers && i < workers->size(); ++i) {
    Poco::JSON::Object::Ptr worker = workers->getObject(static_cast<unsigned>(i));
    workerRows.push_back(
        {worker->isNull("pid") ? "-" : worker->get("pid").toString(),
         worker->getValue<std::string>("group"), worker->getValue<std::string>("state"),
         worker->optValue<std::string>("user", "-"), seconds(*worker, "uptime_ms"),
         worker->get("restarts").toString(), worker->optValue<std::string>("version", "-")});
  }
  printRows(workerRows, out);
  out << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"LISTENER", "TRANSPORT", "ADDRESS", "MODE", "PLUGIN", "GEN", "ACTIVE", "TOTAL"}};
  Poco::JSON::Array::Ptr listeners = status.getArray("listeners");
  for (size_t i = 0; listeners && i < listeners->size(); ++i) {
    Poco::JSON::Object::Ptr listener = listeners->getObject(static_cast<unsigned>(i));
    Poco::JSON::Object::Ptr plugin = listener->getObject("plugin");
    Poco::JSON::Object::Ptr sessions = listener->getObject("sessions");
    rows.push_back(
        {listener->getValue<std::string>("name") +
             (listener->optValue<std::string>("state", "") == "draining" ? " (draining)"
              : listener->optValue<int>("paused_workers", 0) > 0         ? " (paused)"
                                                                         : ""),
         listener->getValue<std::string>("transport"), listener->getValue<std::string>("listen"),
         listener->getValue<std::string>("mode"),
         plugin->getValue<std::string>("name") + " " + plugin->getValue<std::string>("version"),
         plugin->get("generation").toString(), sessions->get("active").toString(),
         sessions->get("total").toString()});
    // Older generations still serving sessions (a reload's drain), a row each.
    Poco::JSON::Array::Ptr generations = plugin->getArray("generations");
    for (unsigned g = 0; generations && g < generations->size(); ++g) {
      Poco::JSON::Object::Ptr older = generations->getObject(g);
      if (!older ||
          older->optValue<uint64_t>("generation", 0) == plugin->optValue<uint64_t>("generation", 0))
        continue;
      rows.push_back({"  older code", "", "", "",
                      plugin->getValue<std::string>("name") + " " +
                          older->optValue<std::string>("version", "?"),
                      older->get("generation").toString(),
                      std::to_string(older->optValue<uint64_t>("sessions", 0)), "-"});
    }
  }
  printRows(rows, out);
}

}  // namespace wharf::ctl
