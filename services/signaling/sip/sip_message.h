#pragma once

// A parsed SIP message: sofia's msg_t with its sip_t view, owned by RAII.
// Parsing text from a WebSocket, editing headers and printing it back are the
// only ways the proxy touches message text.

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include <string>
#include <string_view>

namespace webrtc2sip::signaling {

class SipMessage {
 public:
  enum class ParseResult { kOk, kGarbage, kMalformed };

  SipMessage() = default;
  // Takes over one reference of `msg`.
  explicit SipMessage(msg_t* msg) : msg_(msg) {}
  ~SipMessage() { Reset(); }
  SipMessage(SipMessage&& o) noexcept : msg_(o.msg_) { o.msg_ = nullptr; }
  SipMessage& operator=(SipMessage&& o) noexcept {
    if (this != &o) {
      Reset();
      msg_ = o.msg_;
      o.msg_ = nullptr;
    }
    return *this;
  }
  SipMessage(const SipMessage&) = delete;
  SipMessage& operator=(const SipMessage&) = delete;

  // kGarbage: not a SIP message at all (no request or status line).
  // kMalformed: a SIP start line, but headers a proxy needs are missing or
  // broken; `*this` still holds what parsed, so a request can be answered.
  static ParseResult Parse(std::string_view text, SipMessage& out);
  // A new reference to `msg` (the caller keeps its own).
  static SipMessage Ref(msg_t* msg);
  // A deep copy that can be edited without touching the original.
  SipMessage Clone() const;

  explicit operator bool() const { return msg_ != nullptr; }
  msg_t* get() const { return msg_; }
  sip_t* sip() const { return msg_ ? sip_object(msg_) : nullptr; }
  su_home_t* home() const { return msg_home(msg_); }
  // Hands the reference to a C API that takes ownership.
  msg_t* release() {
    msg_t* m = msg_;
    msg_ = nullptr;
    return m;
  }

  bool is_request() const { return sip() && sip()->sip_request; }
  int status() const { return sip() && sip()->sip_status ? sip()->sip_status->st_status : 0; }
  sip_method_t method() const;  // of the request, or of the CSeq of a response
  std::string_view method_name() const;
  std::string call_id() const;

  // The message as text, after header edits.
  std::string ToString() const;

 private:
  void Reset();
  msg_t* msg_ = nullptr;
};

}  // namespace webrtc2sip::signaling
