// upper: a stream service that answers each line in capitals, written in C++
// with the SDK's wrapper (wharf.hpp): one class per listener, one per session.
// option.prefix is put before every answer.
#include <cctype>
#include <string>
#include <wharf/wharf.hpp>

class Upper {
 public:
  explicit Upper(wharf::Instance &instance) : prefix_(instance.option("prefix").value_or("")) {}

  class Session {
   public:
    Session(Upper &listener, wharf::Session &) : listener_(listener) {}

    void onData(wharf::Session &session, wharf::Bytes data) {
      for (uint8_t byte : data) {
        if (byte != '\n') {
          line_ += static_cast<char>(std::toupper(byte));
          if (line_.size() > 4096) throw wharf::Error("line longer than 4096 bytes");
          continue;
        }
        session.write(listener_.prefix_ + line_ + "\n");
        line_.clear();
      }
    }

   private:
    Upper &listener_;
    std::string line_;
  };

 private:
  std::string prefix_;
};

WHARF_PLUGIN(Upper, "upper", "1.0.0", "answers each line in capitals",
             WHARF_CAP_EVENT | WHARF_CAP_STREAM | WHARF_CAP_CONCURRENT | WHARF_CAP_FORK_SAFE)
