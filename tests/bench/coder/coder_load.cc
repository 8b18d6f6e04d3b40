// coder_load: the Media Coder benchmark's load program (README.md here).
//   --mode load     N two-way transcoded calls through the project's Transcoder, fed in real
//                   time, on relay workers; prints "clips ..." then "result key=value ...".
//   --mode ceiling  the same decode + encode on the codec libraries in a tight loop; prints
//                   "clips ..." then "ceiling key=value ...".
// The input (tones encoded to Opus and G.711, a moving test pattern encoded to VP8 and H.264,
// packetized) is made once at start-up, before anything is measured.

#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

#include "load/call_load.h"
#include "load/raw_ceiling.h"

using namespace webrtc2sip::bench::coder;

namespace {

constexpr const char* kUsage = R"(usage: coder_load --mode load|ceiling --kind audio|video [options]

  --calls N        two-way calls (load; 10)
  --workers N      relay workers, one GMainContext thread each (load; 1)
  --warmup S       seconds of media before the window (load; 3)
  --window S       measurement window, seconds (load; 10)
  --drain S        at most this long, after the window, for what is left in the pipelines (2)
  --seconds S      media seconds per direction (ceiling; 20), at least 1 per call
  --calls N        (ceiling, audio) codec states taken in turn, as N calls; the line also
                   gives one state's figure (one_stream_cpu_ms_per_call_s)
  --flat-out 1     (load) push frames as fast as the worker goes, in due order: the
                   cost of a frame without real time's wake-ups (flat_cpu_ms_per_call_s;
                   the latency and kept-up figures then mean nothing)
  --wall S         (ceiling) time each direction's pass for at least S/2 seconds of wall
                   time, to run alongside a load run's window
  --delay S        (ceiling) wait S seconds after making the clips before starting
  --clip S         length of the input clip that is looped, seconds (10)
  --width N --height N --fps N --bitrate KBPS
                   video: size and rate of the input and the output (640 480 30 800)
  --source PROPS   video: videotestsrc properties ("pattern=smpte horizontal-speed=4")
)";

double Number(const char* flag, const char* value) {
  try {
    return std::stod(value);
  } catch (const std::exception&) {
    throw std::invalid_argument(std::string(flag) + " needs a number, not '" + value + "'");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "load";
  std::string kind = "audio";
  LoadOptions load;
  double ceiling_seconds = 20;
  double ceiling_wall = 0;
  double ceiling_delay = 0;
  double clip_seconds = 10;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      }
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value (or unknown)");
      const char* v = argv[++i];
      if (arg == "--mode") {
        mode = v;
      } else if (arg == "--kind") {
        kind = v;
      } else if (arg == "--calls") {
        load.calls = static_cast<int>(Number("--calls", v));
      } else if (arg == "--workers") {
        load.workers = static_cast<int>(Number("--workers", v));
      } else if (arg == "--warmup") {
        load.warmup_s = Number("--warmup", v);
      } else if (arg == "--window") {
        load.window_s = Number("--window", v);
      } else if (arg == "--drain") {
        load.drain_s = Number("--drain", v);
      } else if (arg == "--seconds") {
        ceiling_seconds = Number("--seconds", v);
      } else if (arg == "--flat-out") {
        load.flat_out = Number("--flat-out", v) != 0;
      } else if (arg == "--wall") {
        ceiling_wall = Number("--wall", v);
      } else if (arg == "--delay") {
        ceiling_delay = Number("--delay", v);
      } else if (arg == "--clip") {
        clip_seconds = Number("--clip", v);
      } else if (arg == "--width") {
        load.video.width = static_cast<int>(Number("--width", v));
      } else if (arg == "--height") {
        load.video.height = static_cast<int>(Number("--height", v));
      } else if (arg == "--fps") {
        load.video.fps = static_cast<int>(Number("--fps", v));
      } else if (arg == "--bitrate") {
        load.video.bitrate_kbps = static_cast<int>(Number("--bitrate", v));
      } else if (arg == "--source") {
        load.video.source = v;
      } else {
        throw std::invalid_argument("unknown option " + arg);
      }
    }
    if ((mode != "load" && mode != "ceiling") || load.calls < 1 || load.workers < 1 ||
        load.window_s <= 0 || ceiling_seconds <= 0 || clip_seconds < 1) {
      throw std::invalid_argument("bad --mode or value (see --help)");
    }
    const CallMedia media = MakeCallMedia(kind, clip_seconds, load.video);
    ResultLine clips("clips");
    for (const InputClip& c : media.clips) {
      clips.Add(c.codec + "_frames", static_cast<uint64_t>(c.frames.size()))
          .Add(c.codec + "_packets", static_cast<uint64_t>(c.packets()))
          .Add(c.codec + "_kbps",
               static_cast<double>(c.bytes()) * 8 * c.frames_per_second /
                   static_cast<double>(c.frames.size()) / 1000,
               1);
    }
    clips.Print();
    if (mode == "ceiling") {
      if (ceiling_delay > 0) std::this_thread::sleep_for(std::chrono::duration<double>(ceiling_delay));
      RunRawCeiling(media, ceiling_seconds, load.video, static_cast<size_t>(load.calls),
                    ceiling_wall)
          .Print();
    } else {
      RunCallLoad(load, media).Print();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coder_load: %s\n", e.what());
    return 1;
  }
  return 0;
}
