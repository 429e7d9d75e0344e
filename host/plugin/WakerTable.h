// Internal. The wakers plugins hold (session_waker): ids that are never
// reused, each naming a session's mailbox. A waker released twice, posted to
// after its release, or made up finds nothing (WHARF_CLOSED): it can reach no
// other session and free nothing twice. THREAD: any.
#pragma once

#include <wharf/wharf.h>

#include <memory>

#include "session/Agenda.h"

namespace wharf::plugin::wakers {

// A new waker of `mailbox`. Throws std::bad_alloc.
wharf_waker *make(std::shared_ptr<session::Mailbox> mailbox);
// The mailbox `waker` names; nullptr if it was released or never was.
std::shared_ptr<session::Mailbox> find(const wharf_waker *waker);
// False if it was released already or never was.
bool release(const wharf_waker *waker) noexcept;

}  // namespace wharf::plugin::wakers
