#include "master/StatusMerge.h"

#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "session/Traffic.h"

namespace wharf::master {
namespace {

Poco::JSON::Object::Ptr copyOf(const Poco::JSON::Object &object);

// a + b, or the nearest value T has: a worker's numbers are input, and two
// near the limit must not overflow (undefined for a signed T).
template <typename T>
T saturatingSum(T a, T b) {
  T sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b < T{} ? std::numeric_limits<T>::min() : std::numeric_limits<T>::max();
}

// Adds every number of `from` into `into`, recursively; arrays (histogram
// buckets) element by element. What only `from` has is copied (a plugin
// metric one worker has declared and another not yet).
void addCounters(Poco::JSON::Object &into, const Poco::JSON::Object &from) {
  for (const auto &[key, value] : from) {
    if (value.type() == typeid(Poco::JSON::Object::Ptr)) {
      Poco::JSON::Object::Ptr mine = into.getObject(key);
      const Poco::JSON::Object &theirs = *value.extract<Poco::JSON::Object::Ptr>();
      if (mine)
        addCounters(*mine, theirs);
      else if (!into.has(key))
        into.set(key, copyOf(theirs));
    } else if (value.type() == typeid(Poco::JSON::Array::Ptr)) {
      Poco::JSON::Array::Ptr mine = into.getArray(key);
      const Poco::JSON::Array &theirs = *value.extract<Poco::JSON::Array::Ptr>();
      Poco::JSON::Array::Ptr sum = new Poco::JSON::Array;
      for (unsigned i = 0; mine && i < mine->size() && i < theirs.size(); ++i)
        sum->add(saturatingSum(mine->getElement<uint64_t>(i), theirs.getElement<uint64_t>(i)));
      into.set(key, sum);
    } else if (value.isInteger() && into.has(key) && into.get(key).isInteger()) {
      // As signed numbers, or unsigned past what those hold (a worker's reply
      // is input: a pair that fits neither leaves the sum as it was, rather
      // than failing the whole status).
      try {
        into.set(key,
                 saturatingSum(into.get(key).convert<Poco::Int64>(), value.convert<Poco::Int64>()));
      } catch (const Poco::Exception &) {
        try {
          into.set(key, saturatingSum(into.get(key).convert<Poco::UInt64>(),
                                      value.convert<Poco::UInt64>()));
        } catch (const Poco::Exception &) {
        }
      }
    } else if (value.isInteger() && !into.has(key)) {
      into.set(key, value);
    }
  }
}

// A copy deep enough that summing into it leaves the worker's reply alone.
Poco::JSON::Object::Ptr copyOf(const Poco::JSON::Object &object) {
  Poco::JSON::Object::Ptr copy = new Poco::JSON::Object;
  for (const auto &[key, value] : object) {
    if (value.type() == typeid(Poco::JSON::Object::Ptr))
      copy->set(key, copyOf(*value.extract<Poco::JSON::Object::Ptr>()));
    else
      copy->set(key, value);
  }
  return copy;
}

// The session duration buckets' bounds of workers from before the 1-2-5
// buckets: an upgrade's old workers still count so while they drain.
constexpr std::array<double, 8> kDecadeDurationBounds{0.001, 0.01, 0.1, 1, 10, 60, 600, 3600};
static_assert(std::all_of(kDecadeDurationBounds.begin(), kDecadeDurationBounds.end(), [](double b) {
  return std::find(session::kDurationBounds.begin(), session::kDurationBounds.end(), b) !=
         session::kDurationBounds.end();
}));

// A worker's `sessions` with its duration buckets in this build's layout. An
// old worker's count moves to the bucket of the same bound, which every old
// bound has: exact at the old bounds, coarser between them.
Poco::JSON::Object::Ptr inCurrentLayout(const Poco::JSON::Object::Ptr &sessions) {
  Poco::JSON::Array::Ptr buckets = sessions->getArray("duration_buckets");
  if (!buckets || buckets->size() != kDecadeDurationBounds.size() + 1) return sessions;
  std::vector<uint64_t> counts(session::kDurationBounds.size() + 1);
  for (unsigned i = 0; i < buckets->size(); ++i) {
    size_t to = i < kDecadeDurationBounds.size()
                    ? std::find(session::kDurationBounds.begin(), session::kDurationBounds.end(),
                                kDecadeDurationBounds[i]) -
                          session::kDurationBounds.begin()
                    : session::kDurationBounds.size();
    counts[to] = saturatingSum(counts[to], buckets->getElement<uint64_t>(i));
  }
  Poco::JSON::Array::Ptr converted = new Poco::JSON::Array;
  for (uint64_t count : counts) converted->add(count);
  Poco::JSON::Object::Ptr copy = copyOf(*sessions);
  copy->set("duration_buckets", converted);
  return copy;
}

// Two workers' lists of loaded generations, sessions summed by generation
// and version, newest first. Malformed entries (a worker's reply is input)
// are left out.
Poco::JSON::Array::Ptr sumGenerations(const Poco::JSON::Array::Ptr &a,
                                      const Poco::JSON::Array::Ptr &b) {
  std::map<std::pair<uint64_t, std::string>, uint64_t, std::greater<>> sessions;
  for (const auto &list : {a, b})
    for (unsigned i = 0; list && i < list->size(); ++i) {
      Poco::JSON::Object::Ptr entry = list->getObject(i);
      if (!entry || !entry->has("generation") || !entry->get("generation").isInteger() ||
          !entry->has("version") || !entry->get("version").isString() || !entry->has("sessions") ||
          !entry->get("sessions").isInteger())
        continue;
      uint64_t &sum = sessions[{entry->getValue<uint64_t>("generation"),
                                entry->getValue<std::string>("version")}];
      sum = saturatingSum(sum, entry->getValue<uint64_t>("sessions"));
    }
  Poco::JSON::Array::Ptr out = new Poco::JSON::Array;
  for (const auto &[key, count] : sessions) {
    Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
    entry->set("generation", key.first);
    entry->set("version", key.second);
    entry->set("sessions", count);
    out->add(entry);
  }
  return out;
}

// What the merge reads of a worker's listener. A worker runs third-party
// plugins: what it sends is checked like any input, and a listener that
// lacks a part is left out rather than trusted.
bool wellFormed(const Poco::JSON::Object::Ptr &listener) {
  if (!listener || !listener->has("name") || !listener->get("name").isString() ||
      !listener->has("state") || !listener->get("state").isString() ||
      !listener->getObject("sessions") ||
      (listener->has("paused_workers") && !listener->get("paused_workers").isInteger()))
    return false;
  Poco::JSON::Object::Ptr plugin = listener->getObject("plugin");
  return plugin && plugin->has("generation") && plugin->get("generation").isInteger();
}

// tls = on: the certificate that expires first of those the workers serve
// (one may not have applied a reload that renewed it).
void keepEarliestExpiry(Poco::JSON::Object &into, const Poco::JSON::Object &listener) {
  Poco::JSON::Object::Ptr theirs = listener.getObject("tls_certificate");
  Poco::JSON::Object::Ptr mine = into.getObject("tls_certificate");
  if (!theirs || !theirs->has("expires") || !theirs->get("expires").isInteger()) return;
  if (!mine || !mine->has("expires") || !mine->get("expires").isInteger() ||
      theirs->getValue<int64_t>("expires") < mine->getValue<int64_t>("expires"))
    into.set("tls_certificate", copyOf(*theirs));
}

}  // namespace

Poco::JSON::Array::Ptr mergeListeners(const std::vector<Poco::JSON::Object::Ptr> &statuses) {
  Poco::JSON::Array::Ptr merged = new Poco::JSON::Array;
  std::map<std::pair<std::string, std::string>, Poco::JSON::Object::Ptr> byName;
  for (const auto &status : statuses) {
    Poco::JSON::Array::Ptr listeners = status->getArray("listeners");
    for (size_t i = 0; listeners && i < listeners->size(); ++i) {
      Poco::JSON::Object::Ptr listener = listeners->getObject(static_cast<unsigned>(i));
      if (!wellFormed(listener)) continue;
      auto key = std::make_pair(listener->getValue<std::string>("name"),
                                listener->getValue<std::string>("state"));
      Poco::JSON::Object::Ptr sessions = inCurrentLayout(listener->getObject("sessions"));
      auto found = byName.find(key);
      if (found == byName.end()) {
        Poco::JSON::Object::Ptr copy = copyOf(*listener);
        copy->set("sessions", copyOf(*sessions));
        copy->getObject("plugin")->set(
            "generations",
            sumGenerations(listener->getObject("plugin")->getArray("generations"), nullptr));
        copy->set("workers", 1);
        byName[key] = copy;
        merged->add(copy);
        continue;
      }
      Poco::JSON::Object &into = *found->second;
      into.set("workers", into.getValue<int>("workers") + 1);
      into.set("paused_workers", into.optValue<int>("paused_workers", 0) +
                                     listener->optValue<int>("paused_workers", 0));
      addCounters(*into.getObject("sessions"), *sessions);
      if (Poco::JSON::Object::Ptr metrics = listener->getObject("plugin_metrics")) {
        if (Poco::JSON::Object::Ptr mine = into.getObject("plugin_metrics"))
          addCounters(*mine, *metrics);
        else
          into.set("plugin_metrics", copyOf(*metrics));
      }
      keepEarliestExpiry(into, *listener);
      Poco::JSON::Object::Ptr plugin = listener->getObject("plugin");
      Poco::JSON::Array::Ptr generations = sumGenerations(
          into.getObject("plugin")->getArray("generations"), plugin->getArray("generations"));
      if (plugin->getValue<uint64_t>("generation") >
          into.getObject("plugin")->getValue<uint64_t>("generation"))
        into.set("plugin", copyOf(*plugin));
      into.getObject("plugin")->set("generations", generations);
    }
  }
  return merged;
}

}  // namespace wharf::master
