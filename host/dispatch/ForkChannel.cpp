#include "dispatch/ForkChannel.h"

#include <cerrno>
#include <cstring>

#include "net/DescriptorPassing.h"

namespace wharf::dispatch::fork {
namespace {

constexpr size_t kMaxPayload = 65536;

void appendText(std::vector<uint8_t> &payload, const std::string &text) {
  payload.insert(payload.end(), text.c_str(), text.c_str() + text.size() + 1);
}

// The text at `at` up to its NUL (or the payload's end); `at` moves past both.
std::string takeText(std::span<const uint8_t> payload, size_t &at) {
  if (at >= payload.size()) return "";
  const auto *text = reinterpret_cast<const char *>(payload.data()) + at;
  std::string taken(text, ::strnlen(text, payload.size() - at));
  at += taken.size() + 1;
  return taken;
}

}  // namespace

bool send(int channel, const Header &header, int socket, std::span<const uint8_t> payload) {
  iovec parts[2] = {{const_cast<Header *>(&header), sizeof header},
                    {const_cast<uint8_t *>(payload.data()), payload.size()}};
  return net::sendWithDescriptor(channel, parts, payload.empty() ? 1 : 2, socket) ==
         static_cast<ssize_t>(sizeof header + payload.size());
}

std::optional<Message> receive(int channel) {
  Message received;
  received.payload.resize(kMaxPayload);
  iovec parts[2] = {{&received.header, sizeof received.header},
                    {received.payload.data(), received.payload.size()}};
  ssize_t got = net::receiveWithDescriptor(channel, parts, 2, received.socket);
  if (got < static_cast<ssize_t>(sizeof received.header)) return std::nullopt;
  received.payload.resize(static_cast<size_t>(got) - sizeof received.header);
  return received;
}

std::vector<uint8_t> encodeLoad(const LoadRequest &request) {
  std::vector<uint8_t> payload;
  appendText(payload, request.file.string());
  for (const auto &option : request.options) {
    appendText(payload, option.key);
    appendText(payload, option.value);
  }
  return payload;
}

LoadRequest decodeLoad(std::span<const uint8_t> payload) {
  LoadRequest request;
  size_t at = 0;
  request.file = takeText(payload, at);
  while (at < payload.size()) {
    std::string key = takeText(payload, at);
    request.options.push_back({std::move(key), takeText(payload, at)});
  }
  return request;
}

}  // namespace wharf::dispatch::fork
