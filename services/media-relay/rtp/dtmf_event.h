#pragma once

#include <array>
#include <cstdint>

namespace webrtc2sip::media {

// One key press as RFC 4733 telephone-event payloads: one packet every
// kIntervalMs carrying the duration so far (the first one starts the event:
// RTP marker set), then the end packet (E bit, final duration) three times,
// all with the RTP timestamp of the event's start.
class DtmfEvent {
 public:
  static constexpr uint32_t kIntervalMs = 50;
  static constexpr int kEndRepeats = 3;

  // `event` 0-15, `volume` 0-63 (-dBm0), `duration_ms` clamped to 40-8000.
  DtmfEvent(uint8_t event, uint8_t volume, uint32_t duration_ms, uint32_t clock_rate);

  // The next payload; false once every packet went. `*marker` is true for
  // the first packet only.
  bool Next(std::array<uint8_t, 4>* payload, bool* marker);
  bool done() const { return end_sent_ >= kEndRepeats; }

 private:
  uint8_t event_;
  uint8_t volume_;
  uint32_t total_;    // timestamp units
  uint32_t step_;     // timestamp units per packet
  uint32_t elapsed_ = 0;
  bool started_ = false;
  int end_sent_ = 0;
};

}  // namespace webrtc2sip::media
