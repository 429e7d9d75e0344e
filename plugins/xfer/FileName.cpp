#include "FileName.h"

#include "common/Text.h"

namespace xfer {

std::optional<std::string> fileNameRefusal(const std::string &name) {
  if (name.empty()) return "empty filename";
  if (name.size() > 255) return "filename longer than 255 bytes";
  if (name.find_first_of("/\\") != std::string::npos) return "filename holds a path separator";
  if (name.front() == '.') return "filename starts with a dot";
  if (common::hasControlCharacter(name) || name.find('\0') != std::string::npos)
    return "filename holds a control character";
  if (!common::validUtf8(name)) return "filename is not UTF-8";
  return std::nullopt;
}

}  // namespace xfer
