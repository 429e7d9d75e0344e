// Internal. The live status page served at GET / on the metrics address:
// status_page.html, compiled into wharfd (StatusPage.cpp.in) so that the
// daemon needs no file of its own at run time.
#pragma once

#include <string_view>

namespace wharf::metrics {

std::string_view statusPageHtml();

}  // namespace wharf::metrics
