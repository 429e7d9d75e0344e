// Internal. Bytes as base64 text, for what goes between processes in JSON.
#pragma once

#include <cstddef>
#include <string>

namespace wharf::process {

std::string encodeBase64(const void *data, size_t length);
// Throws std::runtime_error if `text` is not base64.
std::string decodeBase64(const std::string &text);

}  // namespace wharf::process
