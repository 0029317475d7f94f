// Named connection profiles, kept in $XDG_CONFIG_HOME/kfk/config.toml (by default
// ~/.config/kfk/config.toml):
//
//   current = "local"
//
//   [profiles.local]
//   brokers = "localhost:9092"
//   client_id = "me"
//
//   [profiles.local.properties]
//   "request.timeout.ms" = "5000"
//
// The profile in use is --profile, else KFK_PROFILE, else `current`. Its settings apply under
// what the command line and the environment say: -b beats KFK_BROKERS beats the profile's
// brokers; -X and --client-id beat the profile's properties and client id.
#pragma once

#include <map>
#include <string>

namespace kfk::cli {

struct Profile {
  std::string brokers;  // as given, "host:port,host:port"
  std::string client_id;
  std::map<std::string, std::string> properties;  // Kafka client properties, as -X
};

struct ProfileStore {
  std::string current;  // empty: none
  std::map<std::string, Profile> profiles;
};

// $XDG_CONFIG_HOME/kfk/config.toml, else $HOME/.config/kfk/config.toml.
std::string profile_config_path();

// Reads `path`; a missing file is an empty store. Returns an error message, or "".
std::string load_profiles(const std::string& path, ProfileStore& out);
// Writes the store (creating the directory), replacing the file in one step.
std::string save_profiles(const std::string& path, const ProfileStore& store);

// Profile names: letters, digits, '-' and '_' (a '.' would split the TOML table name).
bool valid_profile_name(const std::string& name);

}  // namespace kfk::cli
