#include "process/ProcessSample.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
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
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY)
    sample->set("max_fds", static_cast<int64_t>(files.rlim_cur));
  // utime and stime, the 14th and 15th fields, counted after the command's ")".
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  if (auto end = text.rfind(')'); end != std::string::npos) {
    std::istringstream fields(text.substr(end + 1));
    std::string field;
    uint64_t user = 0, system = 0;
    for (int index = 3; index <= 13 && fields >> field; ++index) {
    }
    if (fields >> user >> system)
      sample->set("cpu_seconds",
                  static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK)));
  }
  return sample;
}

std::optional<size_t> memoryHeldBy(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  if (!status) return std::nullopt;
  size_t kibibytes = 0;
  bool found = false;
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("RssAnon:") || line.starts_with("VmSwap:")) {
      kibibytes += std::stoull(line.substr(line.find(':') + 1));
      found = true;
    }
  if (!found) return std::nullopt;  // a zombie: its memory is gone
  return kibibytes * 1024;
}

}  // namespace wharf::process
