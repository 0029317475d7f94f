#include "server/cluster/meta_properties.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/protocol/types.h"
#include "server/storage/file_io.h"

namespace fs = std::filesystem;

namespace kfk::server {

namespace {

constexpr const char* kFileName = "meta.properties";

std::optional<int32_t> to_int(const std::string& s) {
  int32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<MetaProperties> read_meta_properties(const std::string& dir, std::string& error) {
  const fs::path path = fs::path(dir) / kFileName;
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::map<std::string, std::string> kv;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  MetaProperties props;
  auto version = kv.count("version") ? to_int(kv["version"]) : std::optional<int32_t>(0);
  auto node = kv.count("node.id") ? to_int(kv["node.id"]) : std::nullopt;
  if (!version || *version != 1 || !node || kv["cluster.id"].empty()) {
    error = path.string() + " is not a version 1 meta.properties with node.id and cluster.id";
    return std::nullopt;
  }
  props.version = *version;
  props.node_id = *node;
  props.cluster_id = kv["cluster.id"];
  props.directory_id = kv["directory.id"];
  return props;
}

std::string write_meta_properties(const std::string& dir, const MetaProperties& props) {
  std::ostringstream text;
  text << "#\n#Written by kfk\n"
       << "node.id=" << props.node_id << "\n"
       << "directory.id=" << props.directory_id << "\n"
       << "version=" << props.version << "\n"
       << "cluster.id=" << props.cluster_id << "\n";
  const std::string bytes = text.str();
  const auto err = storage::write_file_atomically(
      fs::path(dir) / kFileName,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  return err.ok() ? std::string() : err.message();
}

std::string ensure_formatted(const std::vector<std::string>& log_dirs, int32_t node_id,
                             std::string cluster_id, std::string& error) {
  std::vector<std::string> unformatted;
  for (const auto& dir : log_dirs) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      error = "cannot create log directory " + dir + ": " + ec.message();
      return {};
    }
    auto props = read_meta_properties(dir, error);
    if (!error.empty()) return {};
    if (!props) {
      unformatted.push_back(dir);
      continue;
    }
    if (props->node_id != node_id) {
      error = "log directory " + dir + " belongs to node " + std::to_string(props->node_id) +
              ", not node.id " + std::to_string(node_id);
      return {};
    }
    if (!cluster_id.empty() && props->cluster_id != cluster_id) {
      error = "log directory " + dir + " belongs to cluster " + props->cluster_id + ", not " +
              cluster_id;
      return {};
    }
    cluster_id = props->cluster_id;
  }
  if (cluster_id.empty()) cluster_id = protocol::Uuid::random().to_string();
  for (const auto& dir : unformatted) {
    MetaProperties props;
    props.node_id = node_id;
    props.cluster_id = cluster_id;
    props.directory_id = protocol::Uuid::random().to_string();
    error = write_meta_properties(dir, props);
    if (!error.empty()) return {};
  }
  return cluster_id;
}

}  // namespace kfk::server
