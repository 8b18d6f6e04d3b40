#pragma once

// Small pieces the B2BUA's source files share: its metrics and helpers over
// sofia's parsed messages.

#include <sofia-sip/sip.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/url.h>

#include <string>
#include <string_view>

#include "common/metrics/registry.h"

namespace webrtc2sip::signaling::b2bua_support {

struct Metrics {
  metrics::CounterFamily& calls;
  metrics::GaugeFamily& active;
  metrics::HistogramFamily& setup;
  metrics::HistogramFamily& media_setup;
  metrics::HistogramFamily& media_flowing;
  metrics::CounterFamily& challenges;
  metrics::CounterFamily& reoffers;
  metrics::CounterFamily& in_dialog;
  metrics::CounterFamily& dtmf;
  metrics::CounterFamily& session_refreshes;
  static Metrics& Get();
};

std::string RandomToken(size_t bytes);
// The header printed by sofia ("" for null).
std::string HeaderValue(su_home_t* home, const void* header);
// A name-addr without its ";tag=" parameter.
std::string WithoutTag(std::string header_value);
std::string UrlParam(const url_t* url, const char* name);
std::string Body(const sip_t* sip);
// "o=" session id and version of an SDP body ("" when absent), to tell a
// refresh that changes nothing (RFC 3264 8) from a new offer.
std::string OriginKey(std::string_view sdp);
std::string BracketHost(const std::string& host);

}  // namespace webrtc2sip::signaling::b2bua_support
