#include "process/ProcessSample.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace wharf::process {

Poco::JSON::Object::Ptr sampleThisProcess() {
  Poco::JSON::Object::Ptr sample = new Poco::JSON::Object;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:"))
      sample->set("rss_bytes", static_cast<int64_t>(std::stoll(line.substr(6))) * 1024);
    else if (line.starts_with("Threads:"))
      sample->set("threads", static_cast<int64_t>(std::stoll(line.substr(8))));
  }
  std::error_code error;
  int64_t descriptors = 0;
  for (std::filesystem::directory_iterator entry("/proc/self/fd", error), end;
       !error && entry != end; entry.increment(error))
    ++descriptors;
  if (!error) sample->set("open_fds", descriptors - 1);  // less the one listing the folder
  return sample;
}

}  // namespace wharf::process
