#include "services/signaling/sip/sip_message.h"

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>

namespace webrtc2sip::signaling {

void SipMessage::Reset() {
  if (msg_) msg_destroy(msg_);
  msg_ = nullptr;
}

SipMessage::ParseResult SipMessage::Parse(std::string_view text, SipMessage& out) {
  out = SipMessage(msg_make(sip_default_mclass(), 0, text.data(), text.size()));
  sip_t* sip = out.sip();
  if (!sip || (!sip->sip_request && !sip->sip_status)) return ParseResult::kGarbage;
  // What any proxy needs to match and route (RFC 3261 8.1.1, 16.3).
  if (sip->sip_error || !sip->sip_via || !sip->sip_call_id || !sip->sip_cseq || !sip->sip_from ||
      !sip->sip_to || (sip->sip_request && !sip->sip_request->rq_url->url_scheme)) {
    return ParseResult::kMalformed;
  }
  if (sip->sip_request && sip->sip_cseq->cs_method != sip->sip_request->rq_method) {
    return ParseResult::kMalformed;
  }
  return ParseResult::kOk;
}

SipMessage SipMessage::Ref(msg_t* msg) { return SipMessage(msg_ref_create(msg)); }

SipMessage SipMessage::Clone() const {
  msg_t* copy = msg_dup(msg_);
  return SipMessage(copy);
}

sip_method_t SipMessage::method() const {
  sip_t* s = sip();
  if (!s) return sip_method_invalid;
  if (s->sip_request) return s->sip_request->rq_method;
  return s->sip_cseq ? s->sip_cseq->cs_method : sip_method_invalid;
}

std::string_view SipMessage::method_name() const {
  sip_t* s = sip();
  if (!s) return {};
  if (s->sip_request) return s->sip_request->rq_method_name;
  return s->sip_cseq && s->sip_cseq->cs_method_name ? s->sip_cseq->cs_method_name : "";
}

std::string SipMessage::call_id() const {
  sip_t* s = sip();
  return s && s->sip_call_id && s->sip_call_id->i_id ? s->sip_call_id->i_id : "";
}

std::string SipMessage::ToString() const {
  if (!msg_) return {};
  msg_serialize(msg_, reinterpret_cast<msg_pub_t*>(sip()));
  msg_prepare(msg_);
  size_t len = 0;
  char* text = msg_as_string(nullptr, msg_, nullptr, 0, &len);
  if (!text) return {};
  std::string out(text, len);
  su_free(nullptr, text);
  return out;
}

}  // namespace webrtc2sip::signaling
