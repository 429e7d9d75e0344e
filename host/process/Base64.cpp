#include "process/Base64.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>

#include <iterator>
#include <sstream>
#include <stdexcept>

namespace wharf::process {

std::string encodeBase64(const void *data, size_t length) {
  std::ostringstream encoded;
  Poco::Base64Encoder encoder(encoded);
  encoder.rdbuf()->setLineLength(0);
  encoder.write(static_cast<const char *>(data), static_cast<std::streamsize>(length));
  encoder.close();
  return encoded.str();
}

std::string decodeBase64(const std::string &text) {
  std::istringstream in(text);
  Poco::Base64Decoder decoder(in);
  try {
    return std::string(std::istreambuf_iterator<char>(decoder), {});
  } catch (const Poco::Exception &error) {
    throw std::runtime_error("not base64: " + error.displayText());
  }
}

}  // namespace wharf::process
