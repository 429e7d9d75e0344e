#include "Names.h"

namespace ftp {

bool listableName(const std::string &name) {
  return !common::hasControlCharacter(name) && validUtf8(name);
}

}  // namespace ftp
