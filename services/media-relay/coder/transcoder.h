#pragma once

// One direction of one transcoded stream: RTP of codec A in, RTP of codec B out, through a
// GStreamer pipeline
//   appsrc ! [rtpjitterbuffer] ! depay ! decoder ! convert/resample (or convert/scale)
//          ! encoder ! payloader ! appsink
// (audio, inline_input: pads of the transcoder's own in place of appsrc and appsink).
// A Transcoder belongs to the worker thread that creates it: Push() copies the packet into a
// pooled buffer and never blocks; output comes back through an SPSC queue whose eventfd the
// worker's GMainContext watches, and is handed to the Listener on that thread. Output packets
// carry the transcoder's own SSRC (output_ssrc()), a sequence number of its own and the
// timestamps of TimestampMap: the caller rewrites them (OutboundStream), as it does for relayed
// packets. Telephone events cross the call around the pipeline: PrepareTelephoneEvent() puts
// one in the same SSRC, sequence and timestamp space, so both go through one OutboundStream.
//
// A pipeline error (bus ERROR) ends the stream: it is counted
// (webrtc2sip_coder_pipeline_errors_total), the Listener hears it once, Push() returns
// kFailed from then on; the process and other streams go on. Pipelines stop and are freed on
// a reaper thread, so neither an error nor the destructor blocks the worker.

#include <glib.h>
#include <gst/gst.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/cwrap/gobject_ptr.h"
#include "services/media-relay/coder/bus_relay.h"
#include "services/media-relay/coder/codec_table.h"
#include "services/media-relay/coder/timestamp_map.h"

namespace webrtc2sip::media::coder {

struct TranscoderConfig {
  std::string from;  // Codec of the input, as in media.codecs: "opus".
  std::string to;    // Codec of the output: "pcmu".
  uint8_t input_payload_type = 96;
  uint8_t output_payload_type = 96;
  // Video: size of the output (media.video_size_pref); codecs with fixed sizes (H.263) use
  // theirs. 0 keeps the input's size.
  uint32_t width = 640;
  uint32_t height = 480;
  uint32_t bitrate = 0;  // Encoder target, bits/s; 0: the codec's default.
  // Reordering buffer before the depayloader (rtpjitterbuffer), for video from the browser
  // leg when media.enable_videojb is on. 0: none.
  uint32_t jitter_buffer_ms = 0;
  uint32_t mtu = 1200;        // Largest output packet (payloaders fragment video to it).
  // Packets in flight into the pipeline; 0: 512 video, 64 audio, inline audio as many as it
  // takes (two in steady state).
  size_t input_buffers = 0;
  size_t output_packets = 0;  // Output queue slots; 0: 1024 video, 128 audio, 16 inline audio.
  // Audio: run the pipeline on the caller's thread. Push() takes the packet through
  // depayloader, decoder, resampler, encoder and payloader at once and hands the output to the
  // Listener before it returns: no streaming thread, no queue hop, no wake-up (an audio frame
  // costs tens of microseconds, two thread wake-ups per packet cost more). Video always keeps
  // its own streaming thread (frames cost milliseconds; the jitter buffer waits on a clock).
  bool inline_input = true;
};

enum class PushResult : uint8_t {
  kQueued,     // Into the pipeline.
  kBadPacket,  // Not RTP, or not the input payload type.
  kLate,       // Older than the stream's first packet: dropped.
  kInputFull,  // Every input buffer is in the pipeline: dropped (the pipeline is behind).
  kFailed,     // The stream ended on a pipeline error.
};

// Counters of one transcoder. The input side is written by the worker, the output side by
// the streaming threads; read them anywhere.
struct TranscoderStats {
  std::atomic<uint64_t> packets_in{0};
  std::atomic<uint64_t> packets_dropped{0};  // Every Push() that was not kQueued.
  std::atomic<uint64_t> frames_decoded{0};   // Buffers out of the decoder.
  std::atomic<uint64_t> frames_encoded{0};   // Buffers out of the encoder.
  std::atomic<uint64_t> packets_out{0};      // Handed to the listener.
  std::atomic<uint64_t> output_dropped{0};   // Output queue full.
};

class Transcoder : private BusRelay::Target {
 public:
  class Listener {
   public:
    // One output packet: plain RTP with the output payload type, writable in place (rewrite
    // SSRC, sequence number and timestamp, then protect and send). Valid during the call.
    virtual void OnTranscodedRtp(std::span<uint8_t> packet) = 0;
    // The stream ended on a pipeline error; no more output comes. Called once.
    virtual void OnTranscoderFailed(std::string_view reason) = 0;

   protected:
    virtual ~Listener() = default;
  };

  // Builds and starts the pipeline; output is delivered on `context` (the worker's). An error
  // when either codec is unknown or cannot be transcoded here, or the pipeline does not start.
  // Control plane: call on the worker thread that will push.
  static absl::StatusOr<std::unique_ptr<Transcoder>> Create(const TranscoderConfig& config,
                                                            GMainContext* context,
                                                            Listener& listener);
  // Detaches from the worker at once; the pipeline stops on the reaper thread.
  ~Transcoder() override;
  Transcoder(const Transcoder&) = delete;
  Transcoder& operator=(const Transcoder&) = delete;

  // One RTP packet of the input codec, copied; never blocks, allocates only when GStreamer's
  // buffer pool does, never throws or logs. Inline (TranscoderConfig::inline_input): the output
  // it makes reaches the Listener before Push() returns; the Listener must not destroy the
  // transcoder from OnTranscodedRtp then.
  PushResult Push(std::span<const uint8_t> packet);

  // DTMF: the output RTP timestamp (in the same terms as output packets') of an input RTP
  // timestamp, e.g. a telephone-event packet the caller passes around the pipeline. Nullopt
  // before the first Push().
  std::optional<uint32_t> MapTimestamp(uint32_t input_timestamp) const {
    return timestamps_.ToOutput(input_timestamp);
  }

  // DTMF: rewrites a telephone-event packet of the input leg (RFC 4733) in place to go out
  // with the transcoded audio: the output's SSRC, the next output sequence number, the mapped
  // timestamp and `output_payload_type` (the other leg's telephone-event). False, untouched,
  // when it is not RTP or nothing was pushed yet. Worker thread; never allocates.
  bool PrepareTelephoneEvent(std::span<uint8_t> packet, uint8_t output_payload_type);

  uint32_t output_ssrc() const { return output_ssrc_; }

  // Video: the encoder's next frame is a keyframe (PLI/FIR from the receiving leg). No-op for
  // audio.
  void RequestKeyframe();
  // The encoder's target bitrate in bits/s (REMB from the receiving leg). False when the
  // encoder has no bitrate setting.
  bool SetBitrate(uint32_t bits_per_second);

  bool failed() const { return failed_; }
  const TranscoderStats& stats() const;
  const CoderCodec& input_codec() const { return *from_; }
  const CoderCodec& output_codec() const { return *to_; }
  // Tests: the pipeline, to watch its finalization. Null after a failure.
  GstElement* pipeline_for_test() const { return pipeline_.get(); }

  // Internal: what the streaming threads touch; lives as long as the pipeline.
  struct Shared;

 private:
  Transcoder(const TranscoderConfig& config, const CoderCodec& from, const CoderCodec& to,
             Listener& listener);
  void OnPipelineError(std::string reason) override;
  static gboolean OnOutputReady(gpointer self);
  // Inline: hands what the last push made to the listener.
  void DeliverOutput();
  void Emit(std::span<uint8_t> packet, uint32_t dropped_before);
  void Fail(std::string reason);
  void StopPipeline();

  const CoderCodec* from_;
  const CoderCodec* to_;
  Listener& listener_;
  std::shared_ptr<Shared> shared_;
  GObjectPtr<GstElement> pipeline_;
  GObjectPtr<GstElement> appsrc_;
  GObjectPtr<GstPad> input_pad_;   // inline_input: ours, linked to the first element.
  GObjectPtr<GstPad> output_pad_;  // inline_input: ours, linked to the payloader.
  GObjectPtr<GstElement> encoder_;
  GObjectPtr<GstBufferPool> pool_;
  GObjectPtr<GstClock> clock_;  // The pipeline's, with base_time_: arrival times.
  GstClockTime base_time_ = 0;
  std::shared_ptr<BusRelay> bus_relay_;  // The worker's: this pipeline's errors come through it.
  uint64_t bus_watch_ = 0;
  GSourcePtr output_source_;
  TimestampMap timestamps_;
  uint8_t input_payload_type_;
  bool jitter_buffer_;
  bool failed_ = false;
  uint32_t output_ssrc_;
  uint16_t next_sequence_;  // Of output packets and prepared events alike.
};

}  // namespace webrtc2sip::media::coder
