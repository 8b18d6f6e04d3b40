#pragma once

// Ownership of a NiceAgent. (Kept next to its only user until it joins common/cwrap.)

#include <glib.h>
#include <nice/agent.h>

#include <memory>

namespace webrtc2sip::media {

// Closes the agent (its sockets, timers and any TURN allocation) asynchronously, then drops
// our reference. close_async's task holds the agent until the close is done, so this may run
// inside one of the agent's own callbacks. The task completes on the agent's context, pushed
// as thread-default here so it does not end up on the global default context, which a worker
// never runs.
struct NiceAgentClose {
  GMainContext* context = nullptr;  // The one the agent was made with; outlives it.

  void operator()(NiceAgent* agent) const {
    if (agent == nullptr) return;
    g_main_context_push_thread_default(context);
    nice_agent_close_async(agent, nullptr, nullptr);
    g_main_context_pop_thread_default(context);
    g_object_unref(agent);
  }
};
using NiceAgentPtr = std::unique_ptr<NiceAgent, NiceAgentClose>;

}  // namespace webrtc2sip::media
