// meta.properties: the identity file at the top of every log directory, as
// `kafka-storage format` writes it. Java properties text:
//
//   #<comment lines>
//   node.id=1
//   directory.id=<uuid, base64url>
//   version=1
//   cluster.id=<uuid, base64url>
//
// A broker refuses to start on directories that disagree about the cluster or node id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kfk::server {

struct MetaProperties {
  int32_t node_id = 1;
  std::string cluster_id;
  std::string directory_id;
  int32_t version = 1;
};

// Reads `<dir>/meta.properties`. nullopt when the file does not exist; `error` set when it
// exists but cannot be used.
std::optional<MetaProperties> read_meta_properties(const std::string& dir, std::string& error);
// Writes it atomically (temporary file, fsync, rename). Returns an error message or "".
std::string write_meta_properties(const std::string& dir, const MetaProperties& props);

// Makes sure every log dir exists and carries meta.properties for one cluster and node:
// formats the directories that are new (with `cluster_id`, or a fresh one when empty and no
// directory has one yet). Returns the cluster id, or an error message in `error`.
std::string ensure_formatted(const std::vector<std::string>& log_dirs, int32_t node_id,
                             std::string cluster_id, std::string& error);

}  // namespace kfk::server
