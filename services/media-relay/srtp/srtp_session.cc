#include "services/media-relay/srtp/srtp_session.h"

#include "services/media-relay/srtp/evp_srtp_session.h"
#include "services/media-relay/srtp/lib_srtp_session.h"

namespace webrtc2sip::media {

std::string_view SrtpResultName(SrtpResult result) {
  switch (result) {
    case SrtpResult::kOk:
      return "ok";
    case SrtpResult::kBadPacket:
      return "bad_packet";
    case SrtpResult::kAuthFail:
      return "auth_fail";
    case SrtpResult::kReplay:
      return "replay";
    case SrtpResult::kNoSpace:
      return "no_space";
    case SrtpResult::kWrongDirection:
      return "wrong_direction";
    case SrtpResult::kError:
      return "error";
  }
  return "error";
}

std::unique_ptr<SrtpSession> CreateSrtpSession(SrtpImpl impl, SrtpDirection direction,
                                               SrtpProfile profile, const SrtpMasterKey& key) {
  switch (impl) {
    case SrtpImpl::kLibSrtp:
      return LibSrtpSession::Create(direction, profile, key);
    case SrtpImpl::kEvp:
      return EvpSrtpSession::Create(direction, profile, key);
  }
  return nullptr;
}

}  // namespace webrtc2sip::media
