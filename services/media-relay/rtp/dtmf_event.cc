#include "services/media-relay/rtp/dtmf_event.h"

#include <algorithm>

namespace webrtc2sip::media {

DtmfEvent::DtmfEvent(uint8_t event, uint8_t volume, uint32_t duration_ms, uint32_t clock_rate)
    : event_(static_cast<uint8_t>(event & 0x0f)), volume_(static_cast<uint8_t>(std::min<uint8_t>(volume, 63))) {
  duration_ms = std::clamp<uint32_t>(duration_ms, 40, 8000);
  total_ = duration_ms * (clock_rate / 1000);
  step_ = kIntervalMs * (clock_rate / 1000);
}

bool DtmfEvent::Next(std::array<uint8_t, 4>* payload, bool* marker) {
  if (done()) return false;
  *marker = !started_;
  started_ = true;
  bool end = false;
  if (elapsed_ < total_) {
    elapsed_ = std::min(elapsed_ + step_, total_);
    // The last growing packet is already the end one.
    end = elapsed_ >= total_;
  } else {
    end = true;
  }
  if (end) ++end_sent_;
  const auto duration = static_cast<uint16_t>(std::min<uint32_t>(elapsed_, 0xffff));
  (*payload)[0] = event_;
  (*payload)[1] = static_cast<uint8_t>((end ? 0x80 : 0) | volume_);
  (*payload)[2] = static_cast<uint8_t>(duration >> 8);
  (*payload)[3] = static_cast<uint8_t>(duration & 0xff);
  return true;
}

}  // namespace webrtc2sip::media
