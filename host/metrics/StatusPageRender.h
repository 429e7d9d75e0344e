// Internal. The status page as the server sends it: status_page.html with
// the summary and the listener table filled in from a status snapshot, so
// that a browser without JavaScript (or a text browser, or curl) shows them.
// The page's script re-renders both, and adds the charts, each second.
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <string_view>

namespace wharf::metrics {

// `page` with its <!--wharf:NAME--> marks (version, summary, rows) replaced
// by `status`'s values, HTML-escaped: a plugin's version is its own text.
std::string renderStatusPage(std::string_view page, const Poco::JSON::Object &status);

}  // namespace wharf::metrics
