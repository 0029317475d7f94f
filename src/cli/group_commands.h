// What the files of `kfk group` share: group.cpp (list, describe, delete) and
// group_offsets.cpp (reset-offsets, delete-offsets).
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "cli/app.h"
#include "core/client/client.h"
#include "core/client/group_admin.h"
#include "core/config/client_config.h"

namespace kfk::cli {

// A client built from the global options, with the group admin over it.
struct GroupSession {
  GroupSession(const GlobalOptions& opts, const std::string& command);
  config::ClientConfig config;
  client::Client client;
  client::GroupAdmin admin;
};

// The group's description; a group the coordinator does not know (state Dead, no members) is
// GROUP_ID_NOT_FOUND unless `allow_missing`.
client::GroupDescription describe_one(GroupSession& s, const std::string& group,
                                      const std::string& context, bool allow_missing);

// Partitions of the --topic selections ("T" or "T:0,1"), checked against the metadata.
std::vector<client::TopicPartition> selected_partitions(GroupSession& s,
                                                        const std::vector<std::string>& topics,
                                                        const std::string& context);

void add_group_offset_commands(CLI::App& group, GlobalOptions& opts);

}  // namespace kfk::cli
