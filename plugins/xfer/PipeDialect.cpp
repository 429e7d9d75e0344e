#include "PipeDialect.h"

#include <charconv>

namespace xfer {
namespace {

constexpr std::string_view kGoAhead = "second_active";

// Leading line ends: what is left of an earlier header's CR LF.
size_t lineEnds(std::string_view input) {
  size_t count = 0;
  while (count < input.size() && (input[count] == '\r' || input[count] == '\n')) ++count;
  return count;
}

}  // namespace

Parsed PipeDialect::parseRequest(std::string_view input) const {
  size_t skipped = lineEnds(input);
  std::string_view rest = input.substr(skipped);
  size_t newline = rest.find('\n');
  bool terminated = newline != std::string_view::npos;
  std::string_view line = terminated ? rest.substr(0, newline) : rest;
  if (line.size() > maxHeader_)
    return Parsed::malformed("header longer than " + std::to_string(maxHeader_) + " bytes");
  if (line.empty()) return terminated ? Parsed::malformed("empty header") : Parsed::needMore();
  if (line.back() == '\r') line.remove_suffix(1);

  size_t first = line.find('|');
  size_t second = first == std::string_view::npos ? first : line.find('|', first + 1);
  if (second == std::string_view::npos || second + 1 == line.size())
    return terminated ? Parsed::malformed("header is not cmd|filename|filesize")
                      : Parsed::needMore();
  std::string_view command = line.substr(0, first);
  std::string_view size = line.substr(second + 1);
  if (size.find('|') != std::string_view::npos)
    return Parsed::malformed("header has more than three fields");
  Request request;
  auto named = commandNamed(command);
  if (!named) return Parsed::malformed(kUnknownCommand);
  request.command = *named;
  request.filename = std::string(line.substr(first + 1, second - first - 1));
  auto [end, error] = std::from_chars(size.data(), size.data() + size.size(), request.filesize);
  if (error != std::errc() || end != size.data() + size.size())
    return Parsed::malformed("filesize is not a whole number");
  return Parsed::complete(skipped + (terminated ? newline + 1 : rest.size()), std::move(request));
}

Parsed PipeDialect::parseGoAhead(std::string_view input) const {
  size_t skipped = lineEnds(input);
  std::string_view rest = input.substr(skipped);
  if (rest.size() < kGoAhead.size())
    return kGoAhead.starts_with(rest) ? Parsed::needMore()
                                      : Parsed::malformed("expected second_active");
  if (!rest.starts_with(kGoAhead)) return Parsed::malformed("expected second_active");
  return Parsed::complete(skipped + kGoAhead.size());
}

}  // namespace xfer
