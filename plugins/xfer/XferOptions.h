// The xfer listener's option.* keys, parsed and checked once when the
// listener is made: a bad value or an unknown key refuses the listener.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xfer {

enum class DialectKind { Framed, Pipe };
enum class ByteOrder { Little, Big };

struct XferOptions {
  static constexpr uint64_t kMaxFileSizeLimit = uint64_t{1} << 44;  // 16 TiB, ext4's largest file
  static constexpr size_t kMaxHeaderLimit = 65536;

  std::string root;  // the one folder puts land in and gets read from (required)
  DialectKind dialect = DialectKind::Framed;
  ByteOrder byteOrder = ByteOrder::Little;  // of the framed dialect's length prefix
  uint64_t maxFileSize = uint64_t{1} << 30;
  size_t maxHeader = 4096;  // a command's header (the JSON, or the text line)
  // What the uploads under way may have declared in all (InFlight), at least
  // max_file_size; by default 4 × max_file_size. 0: no limit.
  uint64_t maxInFlight = 0;
  // One client address's share of it: a quarter, or max_file_size if more.
  uint64_t maxInFlightPerSource() const { return std::max(maxInFlight / 4, maxFileSize); }
  // An upload on the reactor that receives nothing for this long ends (the
  // blocking modes have the host's idle_timeout); 0: never.
  std::chrono::milliseconds stallTimeout{60000};

  // `options` are the listener's option.* entries (key without "option.").
  // Throws std::invalid_argument naming the key and the reason.
  static XferOptions parse(const std::vector<std::pair<std::string, std::string>> &options);
};

}  // namespace xfer
