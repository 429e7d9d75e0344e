#include "FramedDialect.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace xfer {
namespace {

constexpr size_t kLengthSize = 4;

uint32_t decodeLength(const char *bytes, ByteOrder order) {
  uint32_t value = 0;
  for (size_t i = 0; i < kLengthSize; ++i) {
    size_t index = order == ByteOrder::Little ? kLengthSize - 1 - i : i;
    value = value << 8 | static_cast<unsigned char>(bytes[index]);
  }
  return value;
}

std::string encodeLength(uint32_t value, ByteOrder order) {
  std::string bytes(kLengthSize, '\0');
  for (size_t i = 0; i < kLengthSize; ++i) {
    size_t index = order == ByteOrder::Little ? i : kLengthSize - 1 - i;
    bytes[index] = static_cast<char>(value >> (8 * i) & 0xff);
  }
  return bytes;
}

// Poco's parser takes an integer just past 2^64 - 1 (up to 2^64 + 9) as that
// less 2^64 (so 2^64 is 0) instead of failing: every run of digits outside a
// string must fit in 64 bits before Poco reads the header.
bool integersFit(std::string_view json) {
  bool inString = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') inString = true;
    if (c < '0' || c > '9') continue;
    size_t end = i;
    while (end < json.size() && json[end] >= '0' && json[end] <= '9') ++end;
    uint64_t value = 0;
    if (std::from_chars(json.data() + i, json.data() + end, value).ec != std::errc()) return false;
    i = end - 1;
  }
  return true;
}

std::string stringified(const Poco::JSON::Object &object) {
  std::ostringstream text;
  object.stringify(text);
  return text.str();
}

}  // namespace

Parsed FramedDialect::parseRequest(std::string_view input) const {
  if (input.size() < kLengthSize) return Parsed::needMore();
  // struct.pack('i'): signed, so a length with the top bit set is negative.
  auto length = static_cast<int32_t>(decodeLength(input.data(), byteOrder_));
  if (length <= 0 || static_cast<size_t>(length) > maxHeader_)
    return Parsed::malformed("header length " + std::to_string(length) + " is not 1 to " +
                             std::to_string(maxHeader_));
  size_t total = kLengthSize + static_cast<size_t>(length);
  if (input.size() < total) return Parsed::needMore();
  try {
    return Parsed::complete(
        total, requestFrom(std::string(input.substr(kLengthSize, total - kLengthSize))));
  } catch (const std::invalid_argument &bad) {
    return Parsed::malformed(bad.what());
  }
}

Request FramedDialect::requestFrom(const std::string &json) const {
  if (!integersFit(json)) throw std::invalid_argument("header has a number of more than 64 bits");
  Poco::JSON::Parser parser;
  parser.setDepth(2);  // one object of plain values
  Poco::Dynamic::Var parsed;
  try {
    parsed = parser.parse(json);
  } catch (const Poco::Exception &bad) {
    throw std::invalid_argument("header is not JSON: " + bad.message());
  } catch (const std::exception &bad) {
    throw std::invalid_argument(std::string("header is not JSON: ") + bad.what());
  }
  if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
    throw std::invalid_argument("header is not a JSON object");
  auto object = parsed.extract<Poco::JSON::Object::Ptr>();
  auto text = [&](const char *key) {
    Poco::Dynamic::Var value = object->get(key);
    if (value.isEmpty()) throw std::invalid_argument(std::string("header has no \"") + key + "\"");
    if (!value.isString())
      throw std::invalid_argument(std::string("header's \"") + key + "\" is not a string");
    return value.extract<std::string>();
  };
  Request request;
  auto command = commandNamed(text("cmd"));
  if (!command) throw std::invalid_argument(kUnknownCommand);
  request.command = *command;
  request.filename = text("filename");
  Poco::Dynamic::Var size = object->get("filesize");
  if (size.isEmpty()) {
    if (request.command == Request::Command::Put)
      throw std::invalid_argument("header has no \"filesize\"");
    return request;  // a get's size is the server's to tell
  }
  if (!size.isInteger() || size.isBoolean())
    throw std::invalid_argument("header's \"filesize\" is not a whole number");
  if (size.isSigned() && size.convert<int64_t>() < 0)
    throw std::invalid_argument("header's \"filesize\" is negative");
  request.filesize = size.convert<uint64_t>();
  return request;
}

std::string FramedDialect::getAccepted(const std::string &filename, uint64_t size) const {
  Poco::JSON::Object header;
  header.set("cmd", "get");
  header.set("filename", filename);
  header.set("filesize", size);
  return framed(stringified(header));
}

std::string FramedDialect::refused(std::string_view reason) const {
  Poco::JSON::Object header;
  header.set("error", std::string(reason));
  return framed(stringified(header));
}

std::string FramedDialect::framed(const std::string &json) const {
  return encodeLength(static_cast<uint32_t>(json.size()), byteOrder_) + json;
}

}  // namespace xfer
