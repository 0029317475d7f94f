// kfk profile create|use|list|show|delete, and the profile file they keep (profile.h).
//
// list and show print a table on a terminal and JSON otherwise (or what --output asks):
//   list:         [{"name":"prod","current":true,"brokers":"k1:9092","client_id":"",
//                   "properties":{"acks":"all"}}, ...]
//   show NAME:    one object of the list
//   show:         {"profile":"prod"|null,"profile_source":"--profile"|"KFK_PROFILE"|"current"|"",
//                  "brokers":"k1:9092","brokers_source":"--brokers"|"KFK_BROKERS"|"profile prod"|
//                  "default","client_id":"","properties":{...},"file":"/home/u/.config/..."}
#include "cli/profile.h"

#include <fmt/core.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include "cli/client_support.h"
#include "cli/commands.h"
#include "cli/output_format.h"
#include "cli/output_value.h"
#include "core/config/toml_settings.h"

namespace kfk::cli {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// mkdir -p for the directory holding `path`.
std::string make_parent_dirs(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return fmt::format("cannot create {}: {}", dir, std::strerror(errno));
    }
  }
  return {};
}

}  // namespace

std::string profile_config_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && *xdg == '/') return std::string(xdg) + "/kfk/config.toml";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.config/kfk/config.toml";
}

bool valid_profile_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string load_profiles(const std::string& path, ProfileStore& out) {
  out = ProfileStore{};
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};  // no file yet: no profiles
  auto settings = config::read_toml_file(path);
  if (!settings.ok()) return settings.error_text();
  constexpr std::string_view kPrefix = "profiles.";
  for (const auto& s : settings.value()) {
    const std::string value = s.list ? join(*s.list) : s.value;
    if (s.name == "current") {
      out.current = value;
      continue;
    }
    const std::string_view name = s.name;
    if (!name.starts_with(kPrefix)) {
      return fmt::format("{}: unknown setting '{}' (expected current or [profiles.NAME])", s.origin,
                         s.name);
    }
    const auto rest = name.substr(kPrefix.size());
    const auto dot = rest.find('.');
    if (dot == std::string_view::npos) {
      return fmt::format("{}: '{}' should be a table [profiles.NAME]", s.origin, s.name);
    }
    const std::string profile(rest.substr(0, dot));
    const auto field = rest.substr(dot + 1);
    Profile& p = out.profiles[profile];
    if (field == "brokers") {
      p.brokers = value;
    } else if (field == "client_id") {
      p.client_id = value;
    } else if (field.starts_with("properties.")) {
      p.properties[std::string(field.substr(11))] = value;
    } else {
      return fmt::format(
          "{}: unknown profile setting '{}' (known: brokers, client_id, "
          "[profiles.{}.properties])",
          s.origin, field, profile);
    }
  }
  return {};
}

// A TOML basic string: JSON's escapes, and DEL, which TOML (unlike JSON) refuses raw.
static std::string toml_quote(std::string_view text) {
  std::string out = json_quote(text);
  for (size_t pos = 0; (pos = out.find('\x7f', pos)) != std::string::npos; pos += 6)
    out.replace(pos, 1, "\\u007f");
  return out;
}

std::string save_profiles(const std::string& path, const ProfileStore& store) {
  std::string text =
      "# kfk connection profiles: see 'kfk profile --help'. Written by kfk profile; comments\n"
      "# are not kept.\n";
  if (!store.current.empty()) text += fmt::format("current = {}\n", toml_quote(store.current));
  for (const auto& [name, p] : store.profiles) {
    text += fmt::format("\n[profiles.{}]\n", name);
    if (!p.brokers.empty()) text += fmt::format("brokers = {}\n", toml_quote(p.brokers));
    if (!p.client_id.empty()) text += fmt::format("client_id = {}\n", toml_quote(p.client_id));
    if (!p.properties.empty()) {
      text += fmt::format("\n[profiles.{}.properties]\n", name);
      for (const auto& [key, value] : p.properties) {
        text += fmt::format("{} = {}\n", toml_quote(key), toml_quote(value));
      }
    }
  }
  if (auto error = make_parent_dirs(path); !error.empty()) return error;
  const std::string temp = path + ".tmp";
  {
    std::ofstream file(temp, std::ios::trunc);
    file << text;
    file.close();
    if (!file) return fmt::format("cannot write {}", temp);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return fmt::format("cannot replace {}: {}", path, std::strerror(errno));
  }
  return {};
}

namespace {

struct ProfileArgs {
  std::string name;
  bool use = false;
};

ProfileStore load_or_fail(const std::string& command, const std::string& path) {
  ProfileStore store;
  if (auto error = load_profiles(path, store); !error.empty()) {
    throw CliError(ExitCode::error, fmt::format("{}: {}", command, error),
                   fmt::format("fix or remove {}", path));
  }
  return store;
}

void save_or_fail(const std::string& command, const std::string& path, const ProfileStore& store) {
  if (auto error = save_profiles(path, store); !error.empty()) {
    throw CliError(ExitCode::error, fmt::format("{}: {}", command, error));
  }
}

const Profile& find_or_fail(const std::string& command, const ProfileStore& store,
                            const std::string& name) {
  auto it = store.profiles.find(name);
  if (it == store.profiles.end()) {
    throw CliError(ExitCode::usage, fmt::format("{}: no profile named '{}'", command, name),
                   "'kfk profile list' shows the profiles");
  }
  return it->second;
}

Value profile_value(const std::string& name, const Profile& p, bool current) {
  Value props = Value::object();
  for (const auto& [k, v] : p.properties) props.set(k, v);
  return Value::object()
      .set("name", name)
      .set("current", current)
      .set("brokers", p.brokers)
      .set("client_id", p.client_id)
      .set("properties", std::move(props));
}

void add_create(CLI::App& parent, GlobalOptions& opts) {
  auto a = std::make_shared<ProfileArgs>();
  auto* cmd = parent.add_subcommand("create", "Create or replace a profile");
  cmd->add_option("name", a->name, "Profile name (letters, digits, - and _)")->required();
  cmd->add_flag("--use", a->use, "Also make it the current profile");
  cmd->footer(
      "The profile takes -b/--brokers, --client-id and every -X property given with this "
      "command, e.g. kfk profile create prod -b k1:9092,k2:9092 -X request.timeout.ms=5000. "
      "It becomes the current profile only with --use (or later 'kfk profile use NAME').");
  cmd->callback([&opts, a, cmd] {
    const std::string command = command_path(*cmd);
    if (!valid_profile_name(a->name)) {
      throw CliError(ExitCode::usage,
                     fmt::format("{}: invalid profile name '{}'", command, a->name),
                     "use letters, digits, '-' and '_'");
    }
    Profile p;
    p.brokers = opts.brokers_given;
    if (p.brokers.empty()) {
      throw CliError(
          ExitCode::usage, fmt::format("{}: which brokers?", command),
          fmt::format("give them with -b, e.g. kfk profile create {} -b host:9092", a->name));
    }
    std::vector<std::string> ignored;
    if (auto error = parse_broker_list(p.brokers, ignored); !error.empty()) {
      throw CliError(ExitCode::usage, fmt::format("{}: {}", command, error));
    }
    p.client_id = opts.client_id_arg;
    for (const auto& arg : opts.property_args) {
      auto [key, value] = split_key_value(arg);
      p.properties[key] = value;
    }
    // The properties are checked now rather than at every later command.
    GlobalOptions check;
    check.properties = p.properties;
    client_config(check, command);

    const std::string path = profile_config_path();
    ProfileStore store = load_or_fail(command, path);
    const bool existed = store.profiles.count(a->name) > 0;
    store.profiles[a->name] = p;
    if (a->use) store.current = a->name;
    save_or_fail(command, path, store);
    fmt::print("{} profile {}{}.\n", existed ? "Replaced" : "Created", a->name,
               store.current == a->name ? " (current)" : "");
  });
}

void add_use(CLI::App& parent) {
  auto name = std::make_shared<std::string>();
  auto* cmd = parent.add_subcommand("use", "Make a profile the current one");
  cmd->add_option("name", *name, "Profile name")->required();
  cmd->callback([name, cmd] {
    const std::string command = command_path(*cmd);
    const std::string path = profile_config_path();
    ProfileStore store = load_or_fail(command, path);
    find_or_fail(command, store, *name);
    store.current = *name;
    save_or_fail(command, path, store);
    fmt::print("Using profile {}.\n", *name);
  });
}

void add_list(CLI::App& parent, GlobalOptions& opts) {
  auto* cmd = parent.add_subcommand("list", "List the profiles (* marks the current one)");
  cmd->callback([&opts, cmd] {
    const std::string command = command_path(*cmd);
    const ProfileStore store = load_or_fail(command, profile_config_path());
    if (const auto format = listing_format(opts); format != OutputFormat::table) {
      Value list = Value::array();
      for (const auto& [name, p] : store.profiles) {
        list.push(profile_value(name, p, name == store.current));
      }
      print_value(list, format);
      return;
    }
    for (const auto& [name, p] : store.profiles) {
      fmt::print("{} {}  {}\n", name == store.current ? '*' : ' ', name, p.brokers);
    }
  });
}

void add_show(CLI::App& parent, GlobalOptions& opts) {
  auto name = std::make_shared<std::string>();
  auto* cmd = parent.add_subcommand(
      "show", "Show a profile; without a name, the settings in effect and where they come from");
  cmd->add_option("name", *name, "Profile name");
  cmd->callback([&opts, name, cmd] {
    const std::string command = command_path(*cmd);
    const std::string path = profile_config_path();
    const ProfileStore store = load_or_fail(command, path);
    if (!name->empty()) {
      const Profile& p = find_or_fail(command, store, *name);
      if (const auto format = listing_format(opts); format != OutputFormat::table) {
        print_value(profile_value(*name, p, *name == store.current), format);
        return;
      }
      fmt::print("profile    {}{}\n", *name, *name == store.current ? " (current)" : "");
      fmt::print("brokers    {}\n", p.brokers);
      if (!p.client_id.empty()) fmt::print("client id  {}\n", p.client_id);
      for (const auto& [k, v] : p.properties) fmt::print("property   {}={}\n", k, v);
      return;
    }
    if (!opts.settings_error.empty()) {
      throw CliError(ExitCode::usage, fmt::format("{}: {}", command, opts.settings_error));
    }
    std::string brokers;
    for (const auto& b : opts.brokers) brokers += (brokers.empty() ? "" : ",") + b;
    const auto client_id =
        opts.properties.count("client.id") > 0 ? opts.properties.at("client.id") : std::string();
    if (const auto format = listing_format(opts); format != OutputFormat::table) {
      Value props = Value::object();
      for (const auto& [k, v] : opts.properties) props.set(k, v);
      print_value(Value::object()
                      .set("profile", opts.profile.empty() ? Value() : Value(opts.profile))
                      .set("profile_source", opts.profile_source)
                      .set("brokers", brokers)
                      .set("brokers_source", opts.brokers_source)
                      .set("client_id", client_id)
                      .set("properties", std::move(props))
                      .set("file", path),
                  format);
      return;
    }
    fmt::print("file       {}\n", path);
    fmt::print("profile    {}\n", opts.profile.empty() ? "(none)"
                                                       : fmt::format("{} (from {})", opts.profile,
                                                                     opts.profile_source));
    fmt::print("brokers    {} (from {})\n", brokers, opts.brokers_source);
    if (!client_id.empty()) fmt::print("client id  {}\n", client_id);
    for (const auto& [k, v] : opts.properties) fmt::print("property   {}={}\n", k, v);
  });
}

void add_delete(CLI::App& parent) {
  auto name = std::make_shared<std::string>();
  auto* cmd = parent.add_subcommand("delete", "Delete a profile");
  cmd->add_option("name", *name, "Profile name")->required();
  cmd->callback([name, cmd] {
    const std::string command = command_path(*cmd);
    const std::string path = profile_config_path();
    ProfileStore store = load_or_fail(command, path);
    find_or_fail(command, store, *name);
    store.profiles.erase(*name);
    if (store.current == *name) store.current.clear();
    save_or_fail(command, path, store);
    fmt::print("Deleted profile {}.\n", *name);
  });
}

}  // namespace

void add_profile_command(CLI::App& app, GlobalOptions& opts) {
  auto* cmd = app.add_subcommand("profile", "Manage named connection profiles");
  cmd->require_subcommand(1);
  cmd->footer(
      "Profiles live in $XDG_CONFIG_HOME/kfk/config.toml (default ~/.config/kfk/config.toml). "
      "The profile in use is --profile, else KFK_PROFILE, else the current one; -b beats "
      "KFK_BROKERS beats the profile's brokers, and -X / --client-id beat its properties.");
  add_create(*cmd, opts);
  add_use(*cmd);
  add_list(*cmd, opts);
  add_show(*cmd, opts);
  add_delete(*cmd);
}

}  // namespace kfk::cli
