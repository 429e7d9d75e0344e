// Internal. Poco's logging into a LineSink: wharfd's own log (not the access
// log) goes through Poco's root logger and this channel.
#pragma once

#include <Poco/Channel.h>

#include <memory>

#include "logging/LineSink.h"

namespace wharf::logging {

class LineChannel : public Poco::Channel {
 public:
  explicit LineChannel(std::shared_ptr<LineSink> sink) : sink_(std::move(sink)) {}
  void log(const Poco::Message &message) override;

 private:
  std::shared_ptr<LineSink> sink_;
};

}  // namespace wharf::logging
