// Internal. What became of one session a live migration (migrate = on) tried
// to carry onto newer plugin code.
#pragma once

namespace wharf::session {

enum class Migration {
  Moved,
  Busy,           // not quiescent: tried again until migrate_timeout
  NotCarried,     // the old code cannot hand it over, or the new one cannot take it
  ExportRefused,  // by the old code's session_export
  ImportRefused,  // by the new code's session_import
};

}  // namespace wharf::session
