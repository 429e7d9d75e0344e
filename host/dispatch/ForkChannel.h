// Internal. The messages between a fork listener's dispatcher (in wharfd)
// and its helper process, over a SOCK_SEQPACKET pair: one message each.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "config/Config.h"
#include "net/FileDescriptor.h"
#include "net/SocketAddress.h"

namespace wharf::dispatch::fork {

enum class Kind : uint32_t {
  Serve = 1,     // wharfd → helper: serve session `id` (a socket passed along, or datagram bytes)
  Cut = 2,       // wharfd → helper: end session `id`'s child now
  Stop = 3,      // wharfd → helper: exit once every child has ended
  Done = 4,      // helper → wharfd: session `id` has ended
  Load = 5,      // wharfd → helper: serve new sessions with generation `id` (the
                 // first included): the plugin's staged copy passed along, a LoadRequest
                 // as the payload
  Loaded = 6,    // helper → wharfd: generation `id` serves (no payload) or not (the reason)
  Unforked = 7,  // helper → wharfd: session `id` got no process (fork failed); it is closed
  LogFile = 8,   // wharfd → helper: the log file named by the payload is the descriptor
                 // passed along from now on (the master reopened it)
  TicketKeys = 9,  // wharfd → helper: the listener's session ticket keys are the payload's
                   // (tls::encodeTicketKeys) from now on (the master rotated them)
};

struct Header {
  Kind kind;
  uint32_t peerLength;
  uint64_t id;
  sockaddr_storage peer;
};

struct Message {
  Header header{};
  net::FileDescriptor socket;    // Serve of a stream session; Load's plugin copy; LogFile's file
  std::vector<uint8_t> payload;  // Serve of a datagram session; Load's options
};

// Sends one message, with `socket` (if >= 0) as SCM_RIGHTS. False on failure.
bool send(int channel, const Header &header, int socket, std::span<const uint8_t> payload);
// Receives one message; nullopt when the other end has gone.
std::optional<Message> receive(int channel);

// What a Load asks besides the plugin's copy.
struct LoadRequest {
  std::filesystem::path file;  // the plugin's file, which names it in messages
  std::vector<config::PluginOption> options;
};

// Load's payload: "file\0" then the options as "key\0value\0" pairs.
std::vector<uint8_t> encodeLoad(const LoadRequest &request);
LoadRequest decodeLoad(std::span<const uint8_t> payload);

}  // namespace wharf::dispatch::fork
