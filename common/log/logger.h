#pragma once

// One process-wide structured logger writing a line per event to stdout,
// as JSON or key=value. Every line of a call carries its call or session id
// as a field. Thread-safe: media workers and gRPC threads log too.

#include <atomic>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace webrtc2sip::log {

enum class Level { kDebug = 1, kInfo = 2, kWarn = 3, kError = 4, kFatal = 5 };
enum class Format { kJson, kKeyValue };

using Field = std::pair<std::string_view, std::string_view>;

class Logger {
 public:
  static Logger& Get();

  void Configure(Level level, Format format, std::string service);
  bool Enabled(Level level) const { return level >= level_.load(std::memory_order_relaxed); }

  // Writes one line: time, level, service, message, then the fields in order.
  void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

  // Where lines go; tests capture them. Default: stdout.
  using Sink = void (*)(std::string_view line);
  void SetSink(Sink sink);

 private:
  Logger() = default;
  std::string Format(Level level, std::string_view message,
                     std::initializer_list<Field> fields) const;

  std::atomic<Level> level_{Level::kError};
  std::atomic<log::Format> format_{Format::kJson};
  std::string service_ = "webrtc2sip";
  Sink sink_ = nullptr;
  std::mutex write_mutex_;
};

std::string_view LevelName(Level level);

inline void Debug(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Logger::Get().Enabled(Level::kDebug)) Logger::Get().Write(Level::kDebug, msg, f);
}
inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Logger::Get().Enabled(Level::kInfo)) Logger::Get().Write(Level::kInfo, msg, f);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Logger::Get().Enabled(Level::kWarn)) Logger::Get().Write(Level::kWarn, msg, f);
}
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Logger::Get().Enabled(Level::kError)) Logger::Get().Write(Level::kError, msg, f);
}
inline void Fatal(std::string_view msg, std::initializer_list<Field> f = {}) {
  Logger::Get().Write(Level::kFatal, msg, f);
}

}  // namespace webrtc2sip::log
