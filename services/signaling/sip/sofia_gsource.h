#pragma once

// sofia-sip's GLib event source (su_glib), made not to spin before its timers.
//
// su_glib's prepare and check ask for a poll timeout of su_timer_next_expires(), the time to
// the next timer truncated to whole milliseconds, and call the source ready when that is 0;
// its dispatch then fires only the timers already due, to the microsecond. So for the last
// millisecond before every timer the loop turned without waiting: poll(timeout 0), an empty
// dispatch, again. nta keeps a timer per finished transaction (Timer K, 5 s over UDP), so under
// a steady load the next one is always under a millisecond away: from 5 s into a 1,700
// REGISTER/s load the signaling thread spun on a whole core, and since a ready source of a
// higher priority starves the lower ones, the proxy's idle reaper never ran (finished
// transactions piled up until the load stopped).

#include <glib.h>
#include <sofia-sip/su_wait.h>

namespace webrtc2sip::signaling {

// The root's GSource (as su_glib_root_gsource() gives it), made ready without a socket event
// only a millisecond after sofia first calls itself ready, however busy the loop: a timer
// fires up to ~1 ms late, never early; a message queued to the root (su_msg) may wait as long;
// sockets are served at once. Not yet attached.
GSource* SofiaRootGSource(su_root_t* root);

}  // namespace webrtc2sip::signaling
