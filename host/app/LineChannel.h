// Internal. Log lines to standard error, each with a single write(2): the
// master and its workers share the descriptor, and Poco's ConsoleChannel
// writes the text and its newline separately, so lines of two processes
// could interleave mid-line.
#pragma once

#include <Poco/Channel.h>

namespace wharf::app {

class LineChannel : public Poco::Channel {
 public:
  void log(const Poco::Message &message) override;
};

}  // namespace wharf::app
