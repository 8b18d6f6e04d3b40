#pragma once

// One result line of key=value fields, as the other benchmarks' generators print them
// (tests/bench/bench_common.py parse_kv reads it).

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace webrtc2sip::bench::coder {

class ResultLine {
 public:
  explicit ResultLine(std::string_view tag) : text_(tag) {}

  ResultLine& Add(std::string_view key, std::string_view value) {
    text_ += ' ';
    text_ += key;
    text_ += '=';
    text_ += value;
    return *this;
  }
  ResultLine& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  ResultLine& Add(std::string_view key, const std::string& value) {
    return Add(key, std::string_view(value));
  }
  ResultLine& Add(std::string_view key, uint64_t value) {
    return Add(key, std::string_view(std::to_string(value)));
  }
  ResultLine& Add(std::string_view key, int64_t value) {
    return Add(key, std::string_view(std::to_string(value)));
  }
  ResultLine& Add(std::string_view key, int value) { return Add(key, int64_t{value}); }
  // Always with a decimal point, so a reader can tell floats from counts.
  ResultLine& Add(std::string_view key, double value, int decimals = 3) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", decimals < 1 ? 1 : decimals, value);
    return Add(key, std::string_view(buf));
  }

  void Print() const {
    std::printf("%s\n", text_.c_str());
    std::fflush(stdout);
  }

 private:
  std::string text_;
};

}  // namespace webrtc2sip::bench::coder
