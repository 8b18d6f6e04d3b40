#pragma once

// CPU and UDP drop accounting read from /proc, for the measurement window.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace webrtc2sip::bench::relay {

// utime + stime of every thread of `pid`, in seconds; nullopt when it is gone.
std::optional<double> ProcessCpuSeconds(pid_t pid);

// user + system time of this process (all threads), in seconds.
double SelfCpuSeconds();

// Time the threads of `pid` (0: this process) spent runnable but waiting for a CPU, in
// seconds (the run_delay of /proc/PID/task/*/schedstat): how much others got in the way.
double RunDelaySeconds(pid_t pid);

// Busy (not idle nor iowait) seconds of the whole machine, all cores, since boot.
double MachineBusySeconds();

// Udp RcvbufErrors of the machine (/proc/net/snmp).
uint64_t UdpReceiveBufferErrors();

// Sum of the "drops" column of /proc/net/udp for sockets bound to these local ports.
uint64_t UdpSocketDrops(const std::vector<uint16_t>& local_ports);

// Monotonic clock in nanoseconds.
int64_t MonotonicNanos();

}  // namespace webrtc2sip::bench::relay
