#include "XferOptions.h"

#include "common/OptionValues.h"

namespace xfer {

using common::optionBytes;
using common::optionChoice;
using common::optionDuration;
using common::refuseOption;

XferOptions XferOptions::parse(const std::vector<std::pair<std::string, std::string>> &options) {
  XferOptions parsed;
  std::optional<uint64_t> maxInFlight;
  for (const auto &[key, value] : options) {
    if (key == "root") {
      parsed.root = value;
    } else if (key == "dialect") {
      parsed.dialect = optionChoice<DialectKind>(
          key, value, {{"framed", DialectKind::Framed}, {"pipe", DialectKind::Pipe}});
    } else if (key == "byte_order") {
      parsed.byteOrder = optionChoice<ByteOrder>(
          key, value, {{"little", ByteOrder::Little}, {"big", ByteOrder::Big}});
    } else if (key == "max_file_size") {
      parsed.maxFileSize = optionBytes(key, value, kMaxFileSizeLimit);
    } else if (key == "max_header") {
      parsed.maxHeader = optionBytes(key, value, kMaxHeaderLimit);
      if (parsed.maxHeader < 64) refuseOption(key, "at least 64 bytes");
    } else if (key == "max_in_flight") {
      maxInFlight = optionBytes(key, value, 4 * kMaxFileSizeLimit);
    } else if (key == "stall_timeout") {
      parsed.stallTimeout = optionDuration(key, value);
    } else {
      refuseOption(key,
                   "unknown (xfer knows root, dialect, byte_order, max_file_size, "
                   "max_header, max_in_flight, stall_timeout)");
    }
  }
  if (parsed.root.empty()) refuseOption("root", "missing: the folder files are stored in");
  parsed.maxInFlight = maxInFlight.value_or(4 * parsed.maxFileSize);
  if (parsed.maxInFlight != 0 && parsed.maxInFlight < parsed.maxFileSize)
    refuseOption("max_in_flight", "less than max_file_size (" + std::to_string(parsed.maxFileSize) +
                                      "): a put of the largest file could never go through");
  return parsed;
}

}  // namespace xfer
