#include "dispatch/ForkChannel.h"

#include <cerrno>
#include <cstring>

#include "net/DescriptorPassing.h"

namespace wharf::dispatch::fork {
namespace {

constexpr size_t kMaxPayload = 65536;

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

std::vector<uint8_t> encodeOptions(const std::vector<config::PluginOption> &options) {
  std::vector<uint8_t> payload;
  for (const auto &option : options)
    for (const std::string *text : {&option.key, &option.value})
      payload.insert(payload.end(), text->c_str(), text->c_str() + text->size() + 1);
  return payload;
}

std::vector<config::PluginOption> decodeOptions(std::span<const uint8_t> payload) {
  std::vector<config::PluginOption> options;
  const auto *text = reinterpret_cast<const char *>(payload.data());
  for (size_t at = 0; at < payload.size();) {
    std::string key(text + at, ::strnlen(text + at, payload.size() - at));
    at += key.size() + 1;
    std::string value(at < payload.size()
                          ? std::string(text + at, ::strnlen(text + at, payload.size() - at))
                          : "");
    at += value.size() + 1;
    options.push_back({key, value});
  }
  return options;
}

}  // namespace wharf::dispatch::fork
