// max_sessions and max_sessions_per_ip, counted across every process that
// serves the listener (its workers, and fork mode's session processes) in a
// shared zone. A process that dies holding places (a crashed worker, a
// killed session process) leaks none: places are recorded under their
// process's id and start time, and those of a process that is gone are
// dropped when the table is next read. Without the zone, each process counts
// alone (the FtpServer logs why). THREAD: any.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <wharf/wharf.hpp>

namespace ftp {

class SessionCounts {
 public:
  // Released when destroyed.
  class Place {
   public:
    enum class Kept { Nowhere, Shared, Local };
    Place(SessionCounts &counts, std::string ip, Kept kept)
        : counts_(counts), ip_(std::move(ip)), kept_(kept) {}
    Place(const Place &) = delete;
    Place &operator=(const Place &) = delete;
    ~Place() { counts_.release(ip_, kept_); }

   private:
    SessionCounts &counts_;
    std::string ip_;
    Kept kept_;
  };

  SessionCounts(size_t total, size_t perIp) : total_(total), perIp_(perIp) {}

  // Counts in `zone` from now on; throws wharf::Error if it cannot hold the table.
  void share(wharf::Zone zone);
  // A place for a session from `ip`, or nullptr with the reason (the 421 text).
  std::unique_ptr<Place> take(const std::string &ip, std::string &reason);
  // A place for a session that older code of the listener hands over (live
  // migration): never refused, since it is counted already by the older
  // code's place, which goes as soon as that code lets the session go.
  std::unique_ptr<Place> adopt(const std::string &ip);

  static constexpr uint32_t kLayout = 0x46545053;  // "FTPS": the zone's layout
  static constexpr size_t kZoneSize = 1 << 20;

 private:
  struct Slot;
  struct Table;
  enum class Limits { Apply, Waive };
  void release(const std::string &ip, Place::Kept kept);
  std::unique_ptr<Place> place(const std::string &ip, Limits limits, std::string &reason);
  std::unique_ptr<Place> takeShared(const std::string &ip, Limits limits, std::string &reason);
  std::unique_ptr<Place> takeLocal(const std::string &ip, Limits limits, std::string &reason);
  // Whether `limits` refuse one more session (`reason` says why).
  bool refused(Limits limits, size_t total, size_t fromIp, std::string &reason) const;

  const size_t total_, perIp_;
  std::optional<wharf::Zone> zone_;
  Table *table_ = nullptr;  // in the zone, at this process's address of it
  std::mutex mutex_;        // the counts below, without a zone
  size_t active_ = 0;
  std::map<std::string, size_t> byIp_;
};

}  // namespace ftp
