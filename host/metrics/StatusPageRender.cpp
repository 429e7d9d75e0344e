#include "metrics/StatusPageRender.h"

#include <Poco/JSON/Array.h>

#include <cstdint>
#include <limits>

namespace wharf::metrics {
namespace {

std::string escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// `object[key]` as text ("" if it is missing); numbers as integers.
std::string field(const Poco::JSON::Object &object, const std::string &key) {
  if (!object.has(key)) return "";
  Poco::Dynamic::Var value = object.get(key);
  return value.isEmpty() ? "" : value.toString();
}

int64_t integer(const Poco::JSON::Object &object, const std::string &key) {
  try {
    return object.has(key) ? object.getValue<int64_t>(key) : 0;
  } catch (const Poco::Exception &) {  // a worker's reply is input: not a number
    return 0;
  }
}

std::string cell(std::string_view text) {
  return "<td>" + escaped(text) + "</td>";
}
std::string number(int64_t value) {
  return "<td class=\"number\">" + std::to_string(value) + "</td>";
}

// The columns of the page's renderTable(), in its order.
std::string row(const Poco::JSON::Object &listener) {
  Poco::JSON::Object::Ptr sessions = listener.getObject("sessions");
  Poco::JSON::Object::Ptr plugin = listener.getObject("plugin");
  Poco::JSON::Object empty;
  const Poco::JSON::Object &counts = sessions ? *sessions : empty;
  const Poco::JSON::Object &code = plugin ? *plugin : empty;
  int64_t refused = 0;
  if (Poco::JSON::Object::Ptr reasons = counts.getObject("refused"))
    for (const auto &each : *reasons) {
      int64_t add = integer(*reasons, each.first);
      if (add > 0 && __builtin_add_overflow(refused, add, &refused))
        refused = std::numeric_limits<int64_t>::max();
    }
  std::string state = field(listener, "state");
  return "<tr class=\"" + escaped(state) + "\" data-listener=\"" +
         escaped(field(listener, "name")) + "\">" + cell(field(listener, "name")) + cell(state) +
         cell(field(listener, "transport")) + cell(field(listener, "listen")) +
         cell(field(listener, "mode")) + cell(field(code, "name") + " " + field(code, "version")) +
         number(integer(code, "generation")) + number(integer(listener, "workers")) +
         number(integer(counts, "active")) + number(integer(counts, "total")) + number(refused) +
         number(integer(counts, "bytes_in")) + number(integer(counts, "bytes_out")) + "</tr>\n";
}

// As the page's renderSummary() words it.
std::string summary(const Poco::JSON::Object &status) {
  int64_t answering = 0, workers = 0;
  if (Poco::JSON::Array::Ptr list = status.getArray("workers"))
    for (unsigned i = 0; i < list->size(); ++i, ++workers)
      if (Poco::JSON::Object::Ptr worker = list->getObject(i))
        answering += !worker->isNull("pid") && !worker->has("error");
  Poco::JSON::Object::Ptr reloads = status.getObject("reloads");
  return "master pid " + std::to_string(integer(status, "pid")) + ", up " +
         std::to_string((integer(status, "uptime_ms") + 500) / 1000) + " s, workers " +
         std::to_string(answering) + "/" + std::to_string(workers) + " answering, reloads " +
         std::to_string(reloads ? integer(*reloads, "applied") : 0) + " applied / " +
         std::to_string(reloads ? integer(*reloads, "refused") : 0) + " refused, upgrades " +
         std::to_string(integer(status, "upgrades"));
}

void fill(std::string &page, std::string_view mark, const std::string &with) {
  size_t at = page.find(mark);
  if (at != std::string::npos) page.replace(at, mark.size(), with);
}

}  // namespace

std::string renderStatusPage(std::string_view page, const Poco::JSON::Object &status) {
  std::string rows;
  if (Poco::JSON::Array::Ptr listeners = status.getArray("listeners"))
    for (unsigned i = 0; i < listeners->size(); ++i)
      if (Poco::JSON::Object::Ptr listener = listeners->getObject(i)) rows += row(*listener);
  std::string out(page);
  fill(out, "<!--wharf:version-->", escaped(field(status, "version")));
  fill(out, "<!--wharf:summary-->", escaped(summary(status)));
  fill(out, "<!--wharf:rows-->", rows);
  return out;
}

}  // namespace wharf::metrics
