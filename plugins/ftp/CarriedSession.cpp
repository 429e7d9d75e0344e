#include "CarriedSession.h"

#include <climits>

#include "Jail.h"
#include "Listing.h"
#include "Names.h"

namespace ftp {
namespace {

class Writer {
 public:
  void u8(uint8_t value) { bytes_ += static_cast<char>(value); }
  void u16(uint16_t value) { little(value, 2); }
  void u32(uint32_t value) { little(value, 4); }
  void u64(uint64_t value) { little(value, 8); }
  void string(const std::string &text) {
    u32(static_cast<uint32_t>(text.size()));
    bytes_ += text;
  }
  std::string take() { return std::move(bytes_); }

 private:
  void little(uint64_t value, int width) {
    for (int i = 0; i < width; ++i) bytes_ += static_cast<char>(value >> (8 * i) & 0xFF);
  }
  std::string bytes_;
};

// Reads fields until one is missing or out of bounds; then ok() stays false
// and every later field reads as zero or empty.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  uint8_t u8() { return static_cast<uint8_t>(little(1)); }
  uint16_t u16() { return static_cast<uint16_t>(little(2)); }
  uint32_t u32() { return static_cast<uint32_t>(little(4)); }
  uint64_t u64() { return little(8); }
  bool flag() {
    uint8_t value = u8();
    ok_ = ok_ && value <= 1;
    return value == 1;
  }
  std::string string(size_t maximum) {
    uint32_t length = u32();
    if (length > maximum || length > bytes_.size() - at_) ok_ = false;
    if (!ok_) return {};
    std::string text(reinterpret_cast<const char *>(bytes_.data() + at_), length);
    at_ += length;
    return text;
  }
  // A string present only when `flag` was set (empty otherwise).
  std::optional<std::string> optionalString(size_t maximum) {
    bool present = flag();
    std::string text = string(maximum);
    ok_ = ok_ && (present || text.empty());
    return present ? std::optional(std::move(text)) : std::nullopt;
  }
  void require(bool condition) { ok_ = ok_ && condition; }
  bool done() const { return ok_ && at_ == bytes_.size(); }

 private:
  uint64_t little(size_t width) {
    if (bytes_.size() - at_ < width) ok_ = false;
    if (!ok_) return 0;
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) value |= uint64_t{bytes_[at_ + i]} << (8 * i);
    at_ += width;
    return value;
  }

  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
  bool ok_ = true;
};

// A virtual path as the session keeps one: absolute, without "." or ".." or
// empty components, nameable in a command.
bool normalisedPath(const std::string &path) {
  return path.starts_with("/") && listableName(path) && Jail::resolve("/", path) == path;
}

}  // namespace

std::string CarriedSession::encode() const {
  Writer out;
  out.u16(kFormat);
  out.u8(static_cast<uint8_t>(login));
  out.string(login == Login::Account ? account : "");
  out.u8(pendingUser.has_value());
  out.string(pendingUser.value_or(""));
  out.u32(failures);
  out.string(cwd);
  out.u8(ascii);
  out.u32(facts);
  out.u64(restart);
  out.u8(renameFrom.has_value());
  out.string(renameFrom.value_or(""));
  out.u8(epsvOnly);
  out.u8(pbszGiven);
  out.u8(protectData);
  out.u64(idleMs);
  out.string(unread.input);
  out.u8(unread.discarding);
  out.u8(static_cast<uint8_t>(unread.telnet));
  return out.take();
}

std::optional<CarriedSession> CarriedSession::decode(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxSize) return std::nullopt;
  Reader in(bytes);
  if (in.u16() != kFormat) return std::nullopt;
  CarriedSession state;
  uint8_t login = in.u8();
  in.require(login <= static_cast<uint8_t>(Login::Anonymous));
  state.login = static_cast<Login>(login);
  state.account = in.string(kMaxString);
  in.require(state.login == Login::Account ? !state.account.empty() && listableName(state.account)
                                           : state.account.empty());
  state.pendingUser = in.optionalString(kMaxString);
  in.require(!state.pendingUser ||
             (!state.pendingUser->empty() && listableName(*state.pendingUser)));
  state.failures = in.u32();
  state.cwd = in.string(kMaxString);
  in.require(normalisedPath(state.cwd));
  state.ascii = in.flag();
  state.facts = in.u32();
  in.require(state.facts <= kAllFacts);
  state.restart = in.u64();
  in.require(state.restart <= static_cast<uint64_t>(INT64_MAX));
  state.renameFrom = in.optionalString(kMaxString);
  in.require(!state.renameFrom || normalisedPath(*state.renameFrom));
  state.epsvOnly = in.flag();
  state.pbszGiven = in.flag();
  state.protectData = in.flag();
  in.require(state.pbszGiven || !state.protectData);  // PROT comes after PBSZ only
  state.idleMs = in.u64();
  state.unread.input = in.string(Control::kMaxLine);
  state.unread.discarding = in.flag();
  uint8_t telnet = in.u8();
  in.require(telnet <= static_cast<uint8_t>(TelnetFilter::State::Option));
  state.unread.telnet = static_cast<TelnetFilter::State>(telnet);
  if (!in.done()) return std::nullopt;
  return state;
}

}  // namespace ftp
