#pragma once

// SDP the peers send -> the structured descriptions media-relay nodes take
// (media_relay.proto), and the choice of streams and codecs the gateway
// offers on the other leg. The way back, a node's LocalDescription -> SDP,
// is local_sdp_writer.h.
//
// Streams are the audio and video m= sections, in order; other sections
// (application, image, text) are not streams: the answer writers reject them.

#include "absl/status/statusor.h"
#include "services/signaling/sdp/session_description.h"
#include "webrtc2sip/config/v1/config.pb.h"
#include "webrtc2sip/media/v1/media_relay.pb.h"

namespace webrtc2sip::signaling::sdp {

using MediaStreams = google::protobuf::RepeatedPtrField<media::v1::MediaStream>;

// An audio or video m= section: one MediaStream.
bool IsStreamSection(const MediaDescription& m);

// A section's direction in its writer's view: the section's attribute, else
// the session's, else sendrecv; without ICE, c=0.0.0.0 (RFC 2543 hold) takes
// the receive side away (with ICE it is just the address before candidates).
Direction EffectiveDirection(const SessionDescription& sdp, const MediaDescription& m);

media::v1::Direction ToProto(Direction d);
Direction FromProto(media::v1::Direction d);

// A browser's offer or answer (UDP/TLS/RTP/SAVPF, ICE, DTLS, BUNDLE, rtcp-mux):
// streams with their codecs in the browser's order (telephone-event included),
// rtcp-fb, extmap and ssrcs; the WebRTC transport from the BUNDLE-tagged section
// (ufrag, pwd, UDP candidates with an IP address, fingerprints, setup as
// DtlsRole: actpass -> UNSPECIFIED, active or none -> CLIENT, passive -> SERVER).
// Errors: no accepted audio/video section, streams not bundled on one
// transport, no rtcp-mux, no ICE credentials, no fingerprint, setup:holdconn.
absl::StatusOr<media::v1::RemoteDescription> WebRtcSdpToRemote(const SessionDescription& sdp);

// A SIP endpoint's offer or answer (RTP/AVP, RTP/SAVP, RTP/AVPF, RTP/SAVPF):
// streams (rtcp-fb only under AVPF, port 0 = rejected) and a LegacyTransport
// (profile of the first accepted section; per stream c= address of the section
// or the session, port, a=rtcp port, rtcp-mux, a=crypto lines without session
// parameters). Errors: another proto (UDP/TLS/...), a stream without address,
// RTP/SAVP without crypto, secure and plain sections mixed.
absl::StatusOr<media::v1::RemoteDescription> LegacySdpToRemote(const SessionDescription& sdp);

// Outgoing call: the streams to offer the SIP side (LegRequest.offer_streams),
// one per browser stream. Codecs: the browser's that media.codecs lists, in
// media.codecs order, then telephone-event (those matching a kept codec's clock
// rate, else all); no rtcp-fb, extmap, ssrcs or mid; dynamic payload types
// outside 96-127 renumbered into it; Opus fmtp with codec_opus_maxrates. A
// stream left without codec is rejected; none left at all is an error.
// media.enable_media_coder on: every codec of media.codecs of the stream's
// kind, in media.codecs order (the browser's own entry where it has the codec),
// and a telephone-event at each clock rate that lacks one.
absl::StatusOr<MediaStreams> OfferStreamsForLegacy(const MediaStreams& browser,
                                                   const config::v1::Media& media);

// Incoming call: the streams to offer the browser, one per stream of the SIP
// offer, mids "0", "1"...: the offer's codecs media.codecs allows, in the
// offer's order, plus telephone-event; video codecs get nack, nack pli and
// ccm fir; rtcp-rsize on. A video section stays when the config has one of its
// codecs, else it is rejected; none left at all is an error.
// media.enable_media_coder on: then the browser codecs of media.codecs (opus,
// pcma, pcmu, g722, vp8, h264-*) the offer lacks, for the node to transcode to,
// and a telephone-event at each clock rate that lacks one.
absl::StatusOr<MediaStreams> OfferStreamsForBrowser(const MediaStreams& legacy,
                                                    const config::v1::Media& media);

}  // namespace webrtc2sip::signaling::sdp
