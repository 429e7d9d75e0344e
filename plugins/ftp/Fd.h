// The FTP plugin's descriptors are the shared plugins/common one.
#pragma once

#include "common/Fd.h"

namespace ftp {
using common::Fd;
}  // namespace ftp
