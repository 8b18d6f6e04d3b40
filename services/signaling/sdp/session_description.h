#pragma once

// A neutral model of an SDP (RFC 8866) with the attributes a WebRTC-to-SIP
// gateway reads and writes given fields of their own; every other attribute
// is kept, in order, in `other`. ParseSdp (sdp_parser.h) fills it, WriteSdp
// (sdp_writer.h) prints it; parse(write(x)) == x for any x the parser made.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace webrtc2sip::signaling::sdp {

enum class Direction { kSendRecv, kSendOnly, kRecvOnly, kInactive };

// a=setup (RFC 4145 / RFC 5763).
enum class Setup { kActPass, kActive, kPassive, kHoldConn };

// A line the model has no field for: `type` is the line's letter, or 'a' with
// `name` and `value` ("a=name:value"; `has_value` false for "a=name").
struct Attribute {
  std::string name;
  std::string value;
  bool has_value = false;
  bool operator==(const Attribute&) const = default;
};

struct RawLine {
  char type = 0;      // 'i', 'u', 'e', 'p', 'b', 'r', 'z', 'k'
  std::string value;  // after "x="
  bool operator==(const RawLine&) const = default;
};

struct Origin {
  std::string username = "-";
  std::string session_id = "0";
  std::string session_version = "0";
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address = "0.0.0.0";
  bool operator==(const Origin&) const = default;
};

struct Connection {
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;  // as written, with any /ttl suffix
  bool operator==(const Connection&) const = default;
};

struct RtpMap {
  uint32_t payload_type = 0;
  std::string encoding;  // "opus", "PCMU", "telephone-event"
  uint32_t clock_rate = 0;
  uint32_t channels = 0;  // 0: not written (one channel)
  bool operator==(const RtpMap&) const = default;
};

struct Fmtp {
  std::string format;  // payload type, or any token for non-RTP media
  std::string parameters;
  bool operator==(const Fmtp&) const = default;
};

struct RtcpFb {
  std::string format;     // payload type or "*"
  std::string type;       // "nack", "ccm", "goog-remb", "transport-cc"
  std::string parameter;  // "pli", "fir", "" (and anything after, verbatim)
  bool operator==(const RtcpFb&) const = default;
};

struct Candidate {
  std::string foundation;
  uint32_t component = 1;
  std::string transport;  // "udp", "tcp" (as written)
  uint32_t priority = 0;
  std::string address;
  uint32_t port = 0;
  std::string type;  // "host", "srflx", "prflx", "relay"
  std::string related_address;
  uint32_t related_port = 0;
  bool has_related = false;
  // Extensions after the standard fields, as name/value pairs ("generation" "0").
  std::vector<std::pair<std::string, std::string>> extensions;
  bool operator==(const Candidate&) const = default;
};

struct Fingerprint {
  std::string algorithm;  // "sha-256"
  std::string value;      // "AB:CD:..."
  bool operator==(const Fingerprint&) const = default;
};

// a=crypto (RFC 4568): <tag> <suite> <key-params> [<session-params>].
struct Crypto {
  uint32_t tag = 0;
  std::string suite;
  std::string key_params;      // "inline:<base64>[|lifetime][|MKI:len]"
  std::string session_params;  // verbatim, "" when absent
  bool operator==(const Crypto&) const = default;
};

struct SsrcAttribute {
  uint32_t ssrc = 0;
  std::string name;   // "cname", "msid"
  std::string value;  // "" when the attribute has no value
  bool operator==(const SsrcAttribute&) const = default;
};

struct SsrcGroup {
  std::string semantics;  // "FID", "SIM"
  std::vector<uint32_t> ssrcs;
  bool operator==(const SsrcGroup&) const = default;
};

struct ExtMap {
  uint32_t id = 0;
  std::string direction;  // "" or "sendonly", ... (the "/dir" suffix of the id)
  std::string uri;
  std::string attributes;  // anything after the URI
  bool operator==(const ExtMap&) const = default;
};

struct Group {
  std::string semantics;  // "BUNDLE", "LS"
  std::vector<std::string> mids;
  bool operator==(const Group&) const = default;
};

// a=rtcp (RFC 3605): the RTCP port, optionally with its own address.
struct RtcpAddress {
  uint32_t port = 0;
  std::optional<Connection> connection;
  bool operator==(const RtcpAddress&) const = default;
};

// One m= section.
struct MediaDescription {
  std::string media;  // "audio", "video", "application", "image"
  uint32_t port = 0;
  std::optional<uint32_t> port_count;  // the "/n" of "port/n"
  std::string proto;                   // "UDP/TLS/RTP/SAVPF", "RTP/AVP"
  std::vector<std::string> formats;
  std::optional<Connection> connection;
  std::vector<RawLine> lines;  // i=, b=, k= in order

  std::string mid;
  std::optional<Direction> direction;
  std::vector<RtpMap> rtpmaps;  // in the order of `formats`
  std::vector<Fmtp> fmtps;
  std::vector<RtcpFb> rtcp_fbs;
  std::optional<uint32_t> ptime;
  std::optional<uint32_t> maxptime;

  std::string ice_ufrag;
  std::string ice_pwd;
  std::string ice_options;
  std::vector<Candidate> candidates;
  bool end_of_candidates = false;
  std::vector<Fingerprint> fingerprints;
  std::optional<Setup> setup;

  bool rtcp_mux = false;
  bool rtcp_rsize = false;
  bool bundle_only = false;
  std::optional<RtcpAddress> rtcp;
  std::vector<Crypto> crypto;
  std::string msid;  // a=msid value: "<stream id> <track id>"
  std::vector<SsrcAttribute> ssrcs;
  std::vector<SsrcGroup> ssrc_groups;
  std::vector<ExtMap> extmaps;
  std::vector<Attribute> other;

  bool operator==(const MediaDescription&) const = default;

  const RtpMap* FindRtpMap(uint32_t payload_type) const;
  // The a=fmtp parameters of `format`, "" when there are none.
  std::string FmtpOf(const std::string& format) const;
  // a=rtcp-fb lines of `format` and those of "*".
  std::vector<RtcpFb> RtcpFbOf(const std::string& format) const;
};

struct SessionDescription {
  Origin origin;
  std::string session_name = "-";
  std::optional<Connection> connection;
  std::vector<std::string> timing = {"0 0"};  // t= values
  std::vector<RawLine> lines;                 // i=, u=, e=, p=, b=, r=, z=, k= in order

  std::vector<Group> groups;
  bool ice_lite = false;
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string ice_options;
  std::vector<Fingerprint> fingerprints;
  std::optional<Setup> setup;
  std::optional<Direction> direction;
  std::string msid_semantic;  // the value after "a=msid-semantic:", trimmed
  std::vector<ExtMap> extmaps;
  std::vector<Attribute> other;

  std::vector<MediaDescription> media;

  bool operator==(const SessionDescription&) const = default;

  // The a=group:BUNDLE group, or nullptr.
  const Group* BundleGroup() const;
};

const char* DirectionName(Direction d);
const char* SetupName(Setup s);

}  // namespace webrtc2sip::signaling::sdp
