// A fuzzer process's own folder for the files its target serves, named after
// the fuzzer and its process and removed at exit. In memory (the tmpfs
// /dev/shm) where there is one: on ext4, millions of files made and removed
// slow every new one (its inode allocator skips the recently deleted), over
// half of an xfer run after 20 minutes. libFuzzer leaves by _Exit on a crash,
// a timeout or ^C, so no atexit handler runs then: folders of processes that
// are gone are removed when the next one starts.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace fuzz {

inline std::filesystem::path scratchFolder(const std::string &fuzzer) {
  namespace fs = std::filesystem;
  static fs::path made;  // one per process (each fuzzer calls this once)
  fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  std::string prefix = "wharf-" + fuzzer + "-fuzz-";
  std::error_code ignored;
  for (const auto &entry : fs::directory_iterator(base, ignored)) {
    std::string name = entry.path().filename();
    if (!name.starts_with(prefix)) continue;
    std::string pid = name.substr(prefix.size());
    if (!pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos &&
        !fs::exists("/proc/" + pid))
      fs::remove_all(entry.path(), ignored);
  }
  made = base / (prefix + std::to_string(::getpid()));
  fs::remove_all(made, ignored);  // a gone process's, whose number this one reuses
  fs::create_directories(made);
  std::atexit([] { fs::remove_all(made); });
  return made;
}

}  // namespace fuzz
