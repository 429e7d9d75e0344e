#include "Dialect.h"

#include "FramedDialect.h"
#include "PipeDialect.h"

namespace xfer {

std::unique_ptr<Dialect> Dialect::make(const XferOptions &options) {
  if (options.dialect == DialectKind::Pipe) return std::make_unique<PipeDialect>(options.maxHeader);
  return std::make_unique<FramedDialect>(options.byteOrder, options.maxHeader);
}

}  // namespace xfer
