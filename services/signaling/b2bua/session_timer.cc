#include "services/signaling/b2bua/session_timer.h"

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>

#include <algorithm>
#include <string_view>

namespace webrtc2sip::signaling {

void SessionTimer::NegotiateAsUac(const sip_t* response) {
  const sip_session_expires_t* se = response ? response->sip_session_expires : nullptr;
  if (!se || se->x_delta == 0) {
    interval = 0;
    we_refresh = false;
    return;
  }
  interval = static_cast<uint32_t>(std::min<unsigned long>(se->x_delta, 86400));
  // A 2xx must name the refresher; without one, keep the dialog alive ourselves.
  we_refresh = !se->x_refresher || std::string_view(se->x_refresher) != "uas";
}

std::string SessionTimer::NegotiateAsUas(const sip_t* request, uint32_t min_se) {
  const sip_session_expires_t* se = request ? request->sip_session_expires : nullptr;
  if (!se || se->x_delta == 0) {
    interval = 0;
    we_refresh = false;
    return {};
  }
  interval = static_cast<uint32_t>(std::clamp<unsigned long>(se->x_delta, min_se, 86400));
  const bool caller_supports = sip_has_feature(request->sip_supported, "timer") != 0;
  std::string_view refresher = se->x_refresher ? se->x_refresher : "";
  if (refresher != "uac" && refresher != "uas") refresher = caller_supports ? "uac" : "uas";
  we_refresh = refresher == "uas";
  return std::to_string(interval) + ";refresher=" + std::string(refresher);
}

bool SessionTimer::RequireInAnswer(const sip_t* request) const {
  return interval > 0 && !we_refresh && request &&
         sip_has_feature(request->sip_supported, "timer") != 0;
}

uint32_t SessionTimer::DelaySeconds() const {
  if (interval == 0) return 0;
  if (we_refresh) return std::max<uint32_t>(1, interval / 2);
  return std::max<uint32_t>(1, interval - std::min<uint32_t>(32, interval / 3));
}

}  // namespace webrtc2sip::signaling
