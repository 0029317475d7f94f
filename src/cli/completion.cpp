#include "cli/completion.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <set>

#include "cli/app.h"
#include "cli/profile.h"
#include "core/client/address.h"
#include "core/client/client.h"
#include "core/client/group_admin.h"

namespace kfk::cli {
namespace {

enum class NameKind { none, topic, group, profile };

bool is_hidden(const CLI::Option* opt) { return opt->get_group().empty(); }

bool takes_value(const CLI::Option* opt) { return opt->get_items_expected_max() > 0; }

// The option named `word` ("--name" or "-n") in `cmd` or, since every command falls through
// to its parents, in one of them.
const CLI::Option* find_option(CLI::App* cmd, std::string_view word) {
  const bool long_name = word.size() > 2 && word.substr(0, 2) == "--";
  const std::string name(long_name ? word.substr(2) : word.substr(1));
  for (CLI::App* c = cmd; c != nullptr; c = c->get_parent()) {
    for (const CLI::Option* opt : c->get_options()) {
      if (!opt->nonpositional()) continue;
      if (long_name ? opt->check_lname(name) : opt->check_sname(name)) return opt;
    }
  }
  return nullptr;
}

CLI::App* find_subcommand(CLI::App* cmd, const std::string& word) {
  for (CLI::App* sub : cmd->get_subcommands([](CLI::App*) { return true; })) {
    if (sub->check_name(word)) return sub;
  }
  return nullptr;
}

NameKind option_kind(const CLI::Option* opt) {
  if (opt->check_lname("topic")) return NameKind::topic;
  if (opt->check_lname("group")) return NameKind::group;
  if (opt->check_lname("profile")) return NameKind::profile;
  return NameKind::none;
}

// What the positional argument names: "topic(s)", "group(s)", and the "name(s)" of the topic
// and profile commands that take existing ones (not `create`).
NameKind positional_kind(const CLI::App* cmd, const CLI::Option* opt) {
  const std::string name = opt->get_name();
  if (name == "topic" || name == "topics") return NameKind::topic;
  if (name == "group" || name == "groups") return NameKind::group;
  const CLI::App* parent = cmd->get_parent();
  if ((name == "name" || name == "names") && parent != nullptr && cmd->get_name() != "create") {
    if (parent->get_name() == "topic") return NameKind::topic;
    if (parent->get_name() == "profile") return NameKind::profile;
  }
  return NameKind::none;
}

void add_if_prefix(std::vector<Completion>& out, const std::string& prefix, std::string word,
                   std::string description) {
  if (word.compare(0, prefix.size(), prefix) != 0) return;
  for (const auto& c : out) {
    if (c.word == word) return;
  }
  out.push_back(Completion{std::move(word), std::move(description)});
}

// The values of an option or argument limited to a fixed set, which CLI11 names in the type
// ("TEXT:{a,b,c}"). False when it takes any value.
bool add_choices(std::vector<Completion>& out, const CLI::Option* opt, const std::string& cur) {
  const std::string type = opt->get_type_name();
  const auto open = type.find(":{");
  if (open == std::string::npos || type.back() != '}') return false;
  std::string_view choices(type);
  choices = choices.substr(open + 2, choices.size() - open - 3);
  while (!choices.empty()) {
    const auto comma = choices.find(',');
    add_if_prefix(out, cur, std::string(choices.substr(0, comma)), {});
    if (comma == std::string_view::npos) break;
    choices.remove_prefix(comma + 1);
  }
  return true;
}

std::vector<Completion> live(const LiveNames& live_names, NameKind kind, const std::string& cur) {
  std::vector<Completion> out;
  if (kind == NameKind::profile) {
    for (auto& name : profile_names()) add_if_prefix(out, cur, std::move(name), {});
    return out;
  }
  if (kind == NameKind::none) return out;
  const auto& source = kind == NameKind::topic ? live_names.topics : live_names.groups;
  if (!source) return out;
  for (auto& name : source()) add_if_prefix(out, cur, std::move(name), {});
  return out;
}

}  // namespace

std::vector<std::string> profile_names() {
  ProfileStore store;
  std::vector<std::string> out;
  if (!load_profiles(profile_config_path(), store).empty()) return out;
  for (const auto& [name, profile] : store.profiles) out.push_back(name);
  return out;
}

std::vector<CLI::App*> visible_subcommands(CLI::App& cmd) {
  return cmd.get_subcommands([](CLI::App* sub) { return !sub->get_group().empty(); });
}

std::vector<Completion> complete_command_line(CLI::App& root, const std::vector<std::string>& words,
                                              const LiveNames& live_names) {
  CLI::App* cmd = &root;
  const CLI::Option* pending = nullptr;  // an option whose value comes next
  size_t positionals = 0;
  bool only_positionals = false;
  const size_t typed = words.empty() ? 0 : words.size() - 1;
  for (size_t i = 0; i < typed; ++i) {
    const std::string& w = words[i];
    if (pending != nullptr) {
      pending = nullptr;
      continue;
    }
    if (!only_positionals && w == "--") {
      only_positionals = true;
      continue;
    }
    if (!only_positionals && w.size() > 1 && w[0] == '-') {
      const auto eq = w.find('=');
      const std::string name = w.substr(0, eq);
      const bool long_name = name.size() > 2 && name[1] == '-';
      // "-bhost" carries its value; in "-vv" only the first letter is looked at.
      const auto* opt = find_option(cmd, long_name ? name : name.substr(0, 2));
      if (opt != nullptr && takes_value(opt) && eq == std::string::npos &&
          (long_name || name.size() == 2)) {
        pending = opt;
      }
      continue;
    }
    if (positionals == 0) {
      if (CLI::App* sub = find_subcommand(cmd, w)) {
        cmd = sub;
        continue;
      }
    }
    ++positionals;
  }

  const std::string cur = words.empty() ? std::string() : words.back();
  std::vector<Completion> out;
  if (pending != nullptr) {
    if (add_choices(out, pending, cur)) return out;
    return live(live_names, option_kind(pending), cur);
  }

  if (!only_positionals && !cur.empty() && cur[0] == '-') {
    for (CLI::App* c = cmd; c != nullptr; c = c->get_parent()) {
      for (const CLI::Option* opt : c->get_options()) {
        if (!opt->nonpositional() || is_hidden(opt)) continue;
        const auto& lnames = opt->get_lnames();
        if (!lnames.empty()) {
          for (const auto& l : lnames) add_if_prefix(out, cur, "--" + l, opt->get_description());
        } else {
          for (const auto& s : opt->get_snames())
            add_if_prefix(out, cur, "-" + s, opt->get_description());
        }
      }
    }
    return out;
  }

  const auto subs = visible_subcommands(*cmd);
  if (!subs.empty() && positionals == 0) {
    for (CLI::App* sub : subs) add_if_prefix(out, cur, sub->get_name(), sub->get_description());
    return out;
  }

  std::vector<const CLI::Option*> positional_opts;
  for (const CLI::Option* opt : cmd->get_options()) {
    if (opt->get_positional() && !opt->nonpositional() && !is_hidden(opt)) {
      positional_opts.push_back(opt);
    }
  }
  size_t index = positionals;
  for (const CLI::Option* opt : positional_opts) {
    const int max = opt->get_items_expected_max();
    if (max >= CLI::detail::expected_max_vector_size || index < static_cast<size_t>(max)) {
      if (add_choices(out, opt, cur)) return out;
      return live(live_names, positional_kind(cmd, opt), cur);
    }
    index -= static_cast<size_t>(max);
  }
  return out;
}

LiveNames broker_names(const std::vector<std::string>& brokers) {
  auto make_client = [brokers]() -> std::optional<client::ClientOptions> {
    client::ClientOptions o;
    for (const auto& b : brokers) {
      std::string error;
      if (auto address = client::parse_address(b, error)) o.bootstrap.push_back(*address);
    }
    if (o.bootstrap.empty()) return std::nullopt;
    // A completion must not keep the user waiting for an absent broker.
    o.connect_timeout = std::chrono::milliseconds(1'000);
    o.request_timeout = std::chrono::milliseconds(2'000);
    o.api_timeout = std::chrono::milliseconds(2'000);
    o.client_id = "kfk-complete";
    return o;
  };
  LiveNames names;
  names.topics = [make_client] {
    std::vector<std::string> out;
    try {
      auto options = make_client();
      if (!options) return out;
      client::Client c(*options);
      for (const auto& [name, topic] : c.fetch_metadata(std::nullopt).topics) {
        if (!topic.internal) out.push_back(name);
      }
    } catch (...) {
      out.clear();  // silent: a completion never prints errors
    }
    return out;
  };
  names.groups = [make_client] {
    std::vector<std::string> out;
    try {
      auto options = make_client();
      if (!options) return out;
      client::Client c(*options);
      client::GroupAdmin admin(c);
      for (const auto& g : admin.list_groups()) out.push_back(g.group_id);
    } catch (...) {
      out.clear();
    }
    return out;
  };
  return names;
}

}  // namespace kfk::cli
