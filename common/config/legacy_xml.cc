#include "common/config/legacy_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>

#include "common/config/config_error.h"
#include "common/config/yaml_proto.h"

namespace webrtc2sip::config {
namespace {

struct XmlDocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// "a; b ;c" -> {"a","b","c"}; empty items are kept so positions stay meaningful.
std::vector<std::string> SplitSemicolons(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ';')) out.push_back(Trim(item));
  if (!s.empty() && s.back() == ';') out.push_back("");
  return out;
}

// What one element becomes: a YAML fragment under the new schema's keys.
using Translate = std::function<void(const std::string& value, YAML::Node& root)>;

YAML::Node Seq(const std::vector<std::string>& items) {
  YAML::Node seq(YAML::NodeType::Sequence);
  for (const auto& i : items) {
    if (!i.empty()) seq.push_back(i);
  }
  return seq;
}

void Need(bool ok, const std::string& problem) {
  if (!ok) throw std::invalid_argument(problem);
}

const std::map<std::string, Translate>& Translations() {
  static const std::map<std::string, Translate> table = {
      {"debug-level", [](const std::string& v, YAML::Node& r) { r["log"]["level"] = v; }},
      {"transport",
       [](const std::string& v, YAML::Node& r) {
         auto parts = SplitSemicolons(v);
         Need(parts.size() == 3, "expected proto;ip;port, e.g. ws;*;10060");
         YAML::Node t;
         t["protocol"] = parts[0];
         t["address"] = parts[1];
         t["port"] = parts[2] == "*" ? "0" : parts[2];
         r["signaling"]["transports"].push_back(t);
       }},
      {"enable-rtp-symetric",
       [](const std::string& v, YAML::Node& r) { r["media"]["enable_rtp_symetric"] = v; }},
      {"enable-100rel",
       [](const std::string& v, YAML::Node& r) { r["signaling"]["enable_100rel"] = v; }},
      {"enable-media-coder",
       [](const std::string& v, YAML::Node& r) { r["media"]["enable_media_coder"] = v; }},
      {"enable-videojb",
       [](const std::string& v, YAML::Node& r) { r["media"]["enable_videojb"] = v; }},
      {"video-size-pref",
       [](const std::string& v, YAML::Node& r) { r["media"]["video_size_pref"] = v; }},
      {"rtp-buffsize", [](const std::string& v, YAML::Node& r) { r["media"]["rtp_buffsize"] = v; }},
      {"avpf-tail-length",
       [](const std::string& v, YAML::Node& r) {
         auto parts = SplitSemicolons(v);
         Need(parts.size() == 2, "expected min;max, e.g. 100;400");
         r["media"]["avpf_tail_length"]["min"] = parts[0];
         r["media"]["avpf_tail_length"]["max"] = parts[1];
       }},
      {"srtp-mode", [](const std::string& v, YAML::Node& r) { r["media"]["srtp_mode"] = v; }},
      {"srtp-type", [](const std::string& v,
                       YAML::Node& r) { r["media"]["srtp_type"] = Seq(SplitSemicolons(v)); }},
      {"dtmf-type", [](const std::string& v, YAML::Node& r) { r["media"]["dtmf_type"] = v; }},
      {"codecs",
       [](const std::string& v, YAML::Node& r) { r["media"]["codecs"] = Seq(SplitSemicolons(v)); }},
      {"codec-opus-maxrates",
       [](const std::string& v, YAML::Node& r) {
         auto parts = SplitSemicolons(v);
         Need(parts.size() == 2, "expected playback;capture, e.g. 48000;48000");
         r["media"]["codec_opus_maxrates"]["playback"] = parts[0];
         r["media"]["codec_opus_maxrates"]["capture"] = parts[1];
       }},
      {"stun-server",
       [](const std::string& v, YAML::Node& r) {
         auto parts = SplitSemicolons(v);
         Need(parts.size() >= 1 && parts.size() <= 4 && !parts[0].empty(),
              "expected host;port;user;password");
         YAML::Node s;
         s["host"] = parts[0];
         if (parts.size() > 1 && !parts[1].empty()) s["port"] = parts[1];
         if (parts.size() > 2 && !parts[2].empty()) s["user"] = parts[2];
         if (parts.size() > 3 && !parts[3].empty()) s["password"] = parts[3];
         r["media"]["stun_server"] = s;
       }},
      {"enable-icestun",
       [](const std::string& v, YAML::Node& r) { r["media"]["enable_icestun"] = v; }},
      {"max-fds", [](const std::string& v, YAML::Node& r) { r["max_fds"] = v; }},
      {"nameserver",
       [](const std::string& v, YAML::Node& r) { r["signaling"]["nameservers"].push_back(v); }},
      {"ssl-certificates",
       [](const std::string& v, YAML::Node& r) {
         auto parts = SplitSemicolons(v);
         Need(parts.size() >= 2 && parts.size() <= 4, "expected private-key;certificate;CA;verify");
         YAML::Node s;
         s["private_key"] = parts[0];
         s["certificate"] = parts[1];
         if (parts.size() > 2 && !parts[2].empty() && parts[2] != "*") s["ca"] = parts[2];
         if (parts.size() > 3 && !parts[3].empty()) s["verify"] = parts[3];
         r["signaling"]["ssl_certificates"] = s;
       }},
  };
  return table;
}

// Options of the original that this gateway does not have, and why.
const std::map<std::string, std::string>& Retired() {
  static const std::map<std::string, std::string> table = {
      {"database", "the click-to-call service and its database are not part of this gateway"},
      {"account-mail", "the click-to-call service (mail accounts) is not part of this gateway"},
      {"account-sip-caller", "the click-to-call service is not part of this gateway"},
      {"account-http-domain", "the click-to-call service is not part of this gateway"},
      {"account-recaptcha", "the click-to-call service is not part of this gateway"},
  };
  return table;
}

std::string Text(xmlNode* node) {
  xmlChar* raw = xmlNodeGetContent(node);
  std::string s = raw ? reinterpret_cast<const char*>(raw) : "";
  xmlFree(raw);
  return Trim(s);
}

}  // namespace

LegacyImport ImportLegacyXmlString(const std::string& xml, const std::string& name) {
  XmlDocPtr doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), name.c_str(), nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc) {
    const xmlError* err = xmlGetLastError();
    throw ConfigError(name, err ? err->line : 0, "",
                      std::string("not well-formed XML: ") +
                          (err && err->message ? Trim(err->message) : "parse error"));
  }
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || xmlStrcmp(root->name, BAD_CAST "config") != 0) {
    throw ConfigError(name, root ? static_cast<int>(xmlGetLineNo(root)) : 0, "",
                      "the root element must be <config>");
  }

  LegacyImport result;
  for (xmlNode* node = root->children; node; node = node->next) {
    if (node->type != XML_ELEMENT_NODE) continue;
    const std::string element = reinterpret_cast<const char*>(node->name);
    const int line = static_cast<int>(xmlGetLineNo(node));
    const std::string where = name + ":" + std::to_string(line) + ": <" + element + ">: ";
    const std::string value = Text(node);

    if (auto retired = Retired().find(element); retired != Retired().end()) {
      result.notes.push_back(where + retired->second + " (not imported)");
      continue;
    }
    if (element == "transport") {
      auto proto = SplitSemicolons(value);
      if (!proto.empty() && (proto[0] == "c2c" || proto[0] == "c2cs")) {
        result.notes.push_back(where + "'" + value +
                               "': the click-to-call service is not part of this gateway "
                               "(not imported)");
        continue;
      }
    }
    auto translate = Translations().find(element);
    if (translate == Translations().end()) {
      result.notes.push_back(where + "unknown option (not imported)");
      continue;
    }

    // Each element goes through the YAML loader's own checks, alone, so an
    // error names the element and its line rather than a YAML key.
    YAML::Node fragment;
    v1::Config part;
    try {
      translate->second(value, fragment);
      YamlToMessage(fragment, part, name);
    } catch (const ConfigError& e) {
      throw ConfigError(name, line, "<" + element + ">", "'" + value + "': " + e.problem());
    } catch (const std::invalid_argument& e) {
      throw ConfigError(name, line, "<" + element + ">", "'" + value + "': " + e.what());
    }
    if (element == "rtp-buffsize") {
      result.notes.push_back(where +
                             "the original gateway ignored this value and always used 65535; "
                             "it is now applied as written");
    }
    result.config.MergeFrom(part);
  }
  return result;
}

LegacyImport ImportLegacyXmlFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, "", "cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  return ImportLegacyXmlString(text.str(), path);
}

}  // namespace webrtc2sip::config
