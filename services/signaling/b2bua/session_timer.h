#pragma once

// RFC 4028 session timers on the B2BUA's network leg, when the SIP side asks
// for them: who refreshes, how often, and when a silent dialog is dead. The
// browser's leg needs none: its WebSocket going away ends the call.

#include <glib.h>
#include <sofia-sip/sip.h>

#include <cstdint>
#include <string>

namespace webrtc2sip::signaling {

struct SessionTimer {
  uint32_t interval = 0;    // seconds; 0: no session timer
  bool we_refresh = false;  // the B2BUA refreshes (else the SIP side does)
  guint source = 0;         // the pending refresh or expiry, on the loop

  // A 2xx answering the B2BUA's INVITE (or refresh): the Session-Expires the
  // UAS chose, refresher=uac meaning the B2BUA. No header: no timer.
  void NegotiateAsUac(const sip_t* response);
  // The network's INVITE or refresh, answered by the B2BUA: its interval (not
  // below `min_se`), and the refresher it named, else the caller when it
  // supports timers, else the B2BUA. Returns the Session-Expires value to put
  // in the 2xx ("" when the request asked for no timer).
  std::string NegotiateAsUas(const sip_t* request, uint32_t min_se);
  // True when the 2xx must carry "Require: timer" (the refresher is the caller).
  bool RequireInAnswer(const sip_t* request) const;

  // Seconds until the B2BUA acts: refresh at half the interval, or declare
  // the dialog dead at interval - min(32, interval / 3) (RFC 4028 10).
  uint32_t DelaySeconds() const;
};

}  // namespace webrtc2sip::signaling
