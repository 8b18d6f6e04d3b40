#include "services/signaling/sip/local_response.h"

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>

namespace webrtc2sip::signaling {
namespace {

// The header as "Name: value" lines; every element of a multi-valued header
// (Via) on its own line.

std::string HeaderValue(const sip_header_t* h) {
  if (!h) return {};
  char* text = sip_header_as_string(nullptr, h);
  std::string out = text ? text : "";
  su_free(nullptr, text);
  return out;
}

}  // namespace

std::string_view LocalTag() { return "w2s-gw"; }

std::string MakeResponse(const SipMessage& request, int status, std::string_view reason,
                         std::string_view extra_headers) {
  sip_t* sip = request.sip();
  if (!sip || !sip->sip_request || !sip->sip_via || !sip->sip_from || !sip->sip_to ||
      !sip->sip_call_id || !sip->sip_cseq) {
    return {};
  }
  std::string out = "SIP/2.0 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  for (const sip_via_t* v = sip->sip_via; v; v = v->v_next) {
    out += "Via: " + HeaderValue(reinterpret_cast<const sip_header_t*>(v)) + "\r\n";
  }
  out += "From: " + HeaderValue(reinterpret_cast<const sip_header_t*>(sip->sip_from)) + "\r\n";
  std::string to = HeaderValue(reinterpret_cast<const sip_header_t*>(sip->sip_to));
  if (!sip->sip_to->a_tag && status > 100) to += ";tag=" + std::string(LocalTag());
  out += "To: " + to + "\r\n";
  out += "Call-ID: " + HeaderValue(reinterpret_cast<const sip_header_t*>(sip->sip_call_id)) + "\r\n";
  out += "CSeq: " + HeaderValue(reinterpret_cast<const sip_header_t*>(sip->sip_cseq)) + "\r\n";
  if (!extra_headers.empty()) {
    out += extra_headers;
    out += "\r\n";
  }
  out += "Server: webrtc2sip\r\nContent-Length: 0\r\n\r\n";
  return out;
}

}  // namespace webrtc2sip::signaling
