#pragma once

// What every session of a node shares: its configuration, its DTLS
// certificate and context, its port allocator.

#include <memory>
#include <string>

#include "webrtc2sip/config/v1/config.pb.h"

namespace webrtc2sip::media {

class DtlsContext;
class PortAllocator;

struct NodeContext {
  config::v1::Media media;             // shared media policy (codecs, srtp, avpf tail...)
  config::v1::MediaRelay relay;        // this node's section
  std::string node_id;
  std::string webrtc_address;          // advertised toward browsers
  std::string legacy_address;          // advertised toward SIP endpoints
  std::shared_ptr<const DtlsContext> dtls;
  std::shared_ptr<PortAllocator> ports;
};

}  // namespace webrtc2sip::media
