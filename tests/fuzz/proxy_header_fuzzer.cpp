// libFuzzer: the PROXY protocol header parser, as each listener setting
// (v1, v2, any) runs it. Whatever it is fed, it must not read past the bytes,
// and a header it accepts must fit in them.
#include <cstdlib>

#include "net/ProxyHeader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace wharf::net::proxy;
  for (Accepted accepted : {Accepted::V1, Accepted::V2, Accepted::Any}) {
    Result result = parse(std::span(data, size), accepted);
    if (result.status == Result::Status::Complete && result.header.length > size) std::abort();
    if (result.status == Result::Status::Complete && !result.header.local)
      (void)result.header.source.toString();  // what the logs and plugins will print
  }
  return 0;
}
