// libFuzzer: an xfer client's whole conversation, in either dialect, against a
// store in a scratch folder that holds one file, seed.txt, as each run starts
// (and nothing else: a run's files are removed after it, so an input always
// meets the same store). The first byte picks the dialect and the byte order,
// the second how the rest is cut into reads. Whatever is sent, nothing crashes
// or leaks, input held stays bounded, and no file appears outside the folder
// or under a refused name.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "Conversation.h"
#include "FileName.h"
#include "ScratchFolder.h"

namespace {

class RecordingChannel final : public xfer::Channel {
 public:
  void send(std::string_view bytes) override { sent += bytes.size(); }
  bool sendFile(common::Fd file, uint64_t size) override {
    (void)file;
    sent += size;
    return true;
  }
  void close() override { closed = true; }
  void log(wharf_log_level, std::string_view) override {}
  std::string peerAddress() const override { return "192.0.2.1"; }

  size_t sent = 0;
  bool closed = false;
};

const std::filesystem::path &scratch() {
  static const std::filesystem::path folder = fuzz::scratchFolder("xfer");
  return folder;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  xfer::XferOptions options;
  options.root = scratch();
  options.dialect = data[0] & 1 ? xfer::DialectKind::Pipe : xfer::DialectKind::Framed;
  options.byteOrder = data[0] & 2 ? xfer::ByteOrder::Big : xfer::ByteOrder::Little;
  options.maxFileSize = 4096;
  options.maxHeader = 256;
  size_t cut = 1 + data[1] % 64;
  data += 2;
  size -= 2;

  static const xfer::Store store(scratch());
  std::ofstream(scratch() / "seed.txt", std::ios::trunc) << "seed\n";
  auto dialect = xfer::Dialect::make(options);
  RecordingChannel channel;
  {
    xfer::InFlight inFlight(options.maxInFlight, options.maxInFlightPerSource());
    xfer::Conversation conversation(*dialect, store, inFlight, options, channel);
    for (size_t at = 0; at < size && !conversation.closed(); at += cut)
      conversation.receive(
          std::string_view(reinterpret_cast<const char *>(data) + at, std::min(cut, size - at)));
  }
  for (const auto &entry : std::filesystem::directory_iterator(scratch())) {
    std::string name = entry.path().filename();
    if (xfer::fileNameRefusal(name) || !entry.is_regular_file()) std::abort();
    if (entry.file_size() > options.maxFileSize) std::abort();
    std::filesystem::remove(entry.path());
  }
  return 0;
}
