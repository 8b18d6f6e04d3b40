#include "common/log/logger.h"

#include <sys/time.h>

#include <cstdio>
#include <ctime>

namespace webrtc2sip::log {
namespace {

void StdoutSink(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// key=value: bare when the value has no space, quote or '=', else quoted like JSON.
void AppendKvValue(std::string& out, std::string_view s) {
  bool bare = !s.empty();
  for (unsigned char c : s) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out += s;
  } else {
    AppendJsonString(out, s);
  }
}

std::string Timestamp() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm utc{};
  gmtime_r(&tv.tv_sec, &utc);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%03ldZ", static_cast<long>(tv.tv_usec / 1000));
  return buf;
}

}  // namespace

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kFatal:
      return "fatal";
  }
  return "unknown";
}

Logger& Logger::Get() {
  static Logger logger;
  return logger;
}

void Logger::Configure(Level level, log::Format format, std::string service) {
  std::lock_guard lock(write_mutex_);
  level_.store(level, std::memory_order_relaxed);
  format_.store(format, std::memory_order_relaxed);
  service_ = std::move(service);
}

void Logger::SetSink(Sink sink) {
  std::lock_guard lock(write_mutex_);
  sink_ = sink;
}

std::string Logger::Format(Level level, std::string_view message,
                           std::initializer_list<Field> fields) const {
  std::string line;
  line.reserve(128);
  if (format_.load(std::memory_order_relaxed) == log::Format::kJson) {
    line += "{\"ts\":\"" + Timestamp() + "\",\"level\":\"";
    line += LevelName(level);
    line += "\",\"service\":";
    AppendJsonString(line, service_);
    line += ",\"msg\":";
    AppendJsonString(line, message);
    for (const auto& [key, value] : fields) {
      line += ',';
      AppendJsonString(line, key);
      line += ':';
      AppendJsonString(line, value);
    }
    line += "}\n";
  } else {
    line += "ts=" + Timestamp() + " level=";
    line += LevelName(level);
    line += " service=";
    AppendKvValue(line, service_);
    line += " msg=";
    AppendKvValue(line, message);
    for (const auto& [key, value] : fields) {
      line += ' ';
      line += key;
      line += '=';
      AppendKvValue(line, value);
    }
    line += '\n';
  }
  return line;
}

void Logger::Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  std::lock_guard lock(write_mutex_);
  std::string line = Format(level, message, fields);
  (sink_ ? sink_ : StdoutSink)(line);
}

}  // namespace webrtc2sip::log
