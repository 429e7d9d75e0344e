// libFuzzer: the JSON the control plane reads. The input is, first, a
// request line on the control socket (wharfctl's, or anyone's who may open
// it), answered with the master's command names; then a worker's status
// reply, which the master merges (a worker runs third-party plugins: its
// replies are input too). A reply must always be a JSON object with "ok";
// a merge may refuse with an exception, never crash.
#include <Poco/JSON/Parser.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "control/AdminServer.h"
#include "master/StatusMerge.h"

namespace {

using wharf::control::AdminServer;

const std::map<std::string, AdminServer::Handler> &commands() {
  static const std::map<std::string, AdminServer::Handler> table = {
      {"status",
       [](const Poco::JSON::Object &, Poco::JSON::Object &reply) { reply.set("pid", 1); }},
      {"stop", [](const Poco::JSON::Object &, Poco::JSON::Object &) {}},
      {"upgrade",
       [](const Poco::JSON::Object &, Poco::JSON::Object &) {
         throw std::runtime_error("an upgrade is already under way");
       }},
      {"reload", [](const Poco::JSON::Object &, Poco::JSON::Object &) {}}};
  return table;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  std::string reply = AdminServer::answer(commands(), text);
  auto parsed = Poco::JSON::Parser().parse(reply).extract<Poco::JSON::Object::Ptr>();
  if (!parsed || !parsed->has("ok")) std::abort();

  Poco::JSON::Object::Ptr status;
  try {
    status = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception &) {
    return 0;  // the channel drops what is not a JSON object
  }
  if (!status) return 0;
  try {
    std::ostringstream out;
    wharf::master::mergeListeners({status, status})->stringify(out);
  } catch (const std::exception &) {  // the status command answers with the error
  }
  return 0;
}
