// webrtc2sip-media-relay: the data plane (ICE/DTLS-SRTP <-> RTP, Media Coder),
// commanded by signaling over gRPC.

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <thread>

#include "common/config/config_error.h"
#include "common/config/config_loader.h"
#include "common/config/enum_spelling.h"
#include "common/log/logger.h"
#include "common/service/graceful_stop.h"
#include "common/service/service_main.h"
#include "common/service/service_runtime.h"
#include "services/media-relay/coder/codec_table.h"
#include "services/media-relay/dtls/dtls_certificate.h"
#include "services/media-relay/dtls/dtls_context.h"
#include "services/media-relay/net/port_allocator.h"
#include "services/media-relay/rpc/media_relay_service.h"
#include "services/media-relay/session/media_node.h"

namespace {

using namespace webrtc2sip;

media::NodeContext MakeNodeContext(const config::Config& config) {
  const auto& relay = config.media_relay();
  media::NodeContext node;
  node.media = config.media();
  node.relay = relay;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  node.node_id = std::string(host) + "/" + relay.grpc_listen();
  const std::string bind = relay.bind_address();
  // A wildcard bind_address comes with advertised addresses (checked with the config).
  node.webrtc_address = relay.advertised().has_webrtc() ? relay.advertised().webrtc() : bind;
  node.legacy_address = relay.advertised().has_legacy() ? relay.advertised().legacy() : bind;
  node.dtls = media::DtlsContext::Create(media::DtlsCertificate::Generate());
  node.ports = std::make_shared<media::PortAllocator>(
      bind, static_cast<uint16_t>(relay.port_range().min()),
      static_cast<uint16_t>(relay.port_range().max()));
  return node;
}

int RunMediaRelay(const config::Config& config) {
  const auto& relay = config.media_relay();
  service::ServiceRuntime runtime("media-relay", relay.http_listen());
  const int workers = relay.workers() ? static_cast<int>(relay.workers())
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  media::MediaNode node(MakeNodeContext(config), workers);
  media::MediaRelayService service(node);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(relay.grpc_listen(), grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    throw std::runtime_error("cannot listen on gRPC " + relay.grpc_listen());
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  log::Info("grpc listening", {{"address", relay.grpc_listen()},
                               {"workers", std::to_string(workers)},
                               {"node", node.context().node_id}});

  // SIGTERM drains: no new sessions, the current ones finish, then exit (or
  // at the deadline). A second signal exits at once.
  service::GracefulStop::Hooks drain;
  drain.start = [&] {
    node.StartDrain();
    server->GetHealthCheckService()->SetServingStatus(false);
  };
  drain.remaining = [&] { return node.session_count(); };
  drain.what = "sessions";
  service::GracefulStop stop(runtime, std::chrono::seconds(relay.drain_deadline_seconds()),
                             std::move(drain));

  // Leases: a session nobody renews ends (signaling crashed, or forgot it).
  struct Timers {
    media::MediaNode* node;
    service::ServiceRuntime* runtime;
    grpc::Server* server;
  } timers{&node, &runtime, server.get()};
  guint lease_timer = g_timeout_add_seconds(
      1,
      [](gpointer data) -> gboolean {
        auto* t = static_cast<Timers*>(data);
        t->node->ExpireLeases();
        // A draining node (Drain RPC or SIGTERM) takes no new sessions: not ready.
        if (t->node->draining() && t->runtime->ready()) {
          t->runtime->SetReady(false);
          t->server->GetHealthCheckService()->SetServingStatus(false);
        }
        return G_SOURCE_CONTINUE;
      },
      &timers);

  runtime.SetReady(true);
  runtime.Run();
  g_source_remove(lease_timer);
  service.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return service::kExitOk;
}

// With the Media Coder on, every codec of media.codecs may have to be
// decoded and encoded here: one this machine cannot transcode is a config
// error (Debian 12 has no G.729 or iLBC encoder, for one).
void CheckMediaCoder(const config::Config& cfg, const std::string& path) {
  if (!cfg.media().enable_media_coder()) return;
  const auto* codecs = config::v1::Codec_descriptor();
  for (int i = 0; i < cfg.media().codecs_size(); ++i) {
    const std::string name = config::EnumSpelling(codecs->FindValueByNumber(cfg.media().codecs(i)));
    const std::string key = "media.codecs[" + std::to_string(i) + "]";
    const media::coder::CoderCodec* codec = media::coder::FindCoderCodec(name);
    if (!codec) throw config::ConfigError(path, 0, key, name + " is not known to the Media Coder");
    if (!codec->unsupported.empty()) {
      throw config::ConfigError(path, 0, key,
                                name + " cannot be transcoded (enable_media_coder is on): " +
                                    std::string(codec->unsupported));
    }
    const media::coder::CodecAvailability available = media::coder::CheckAvailability(*codec);
    if (!available.both()) {
      throw config::ConfigError(path, 0, key,
                                name + " cannot be transcoded on this machine (enable_media_coder "
                                       "is on): " + available.missing);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return webrtc2sip::service::ServiceMain(
      argc, argv,
      {"webrtc2sip-media-relay", "media-relay", webrtc2sip::config::Scope::kMediaRelay,
       "/etc/webrtc2sip/webrtc2sip.yaml", &CheckMediaCoder},
      RunMediaRelay);
}
