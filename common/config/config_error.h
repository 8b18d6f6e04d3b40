#pragma once

#include <stdexcept>
#include <string>

namespace webrtc2sip::config {

// A configuration problem, worded for the person who wrote the file:
// "FILE:LINE: key.path: what is wrong". Thrown at startup and by
// --check-config; main prints what() as one line.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, int line, const std::string& key_path,
              const std::string& problem)
      : std::runtime_error(Compose(file, line, key_path, problem)),
        key_path_(key_path),
        problem_(problem) {}

  const std::string& key_path() const { return key_path_; }
  const std::string& problem() const { return problem_; }

 private:
  static std::string Compose(const std::string& file, int line, const std::string& key_path,
                             const std::string& problem) {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line);
    s += ": ";
    if (!key_path.empty()) s += key_path + ": ";
    return s + problem;
  }

  std::string key_path_;
  std::string problem_;
};

}  // namespace webrtc2sip::config
