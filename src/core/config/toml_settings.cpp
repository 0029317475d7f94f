#include "core/config/toml_settings.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace kfk::config {

namespace {

struct Reader {
  std::string source;
  std::vector<Setting> settings;
  std::vector<std::string> errors;
  std::vector<std::pair<toml::source_position, Setting>> found;

  std::string origin(const toml::node& node) const {
    const auto& begin = node.source().begin;
    return fmt::format("{}:{}:{}", source, begin.line, begin.column);
  }

  void error(const toml::node& node, const std::string& message) {
    errors.push_back(origin(node) + ": " + message);
  }

  // The text of a scalar; false for other node types.
  static bool scalar_text(const toml::node& node, std::string& out) {
    switch (node.type()) {
      case toml::node_type::string:
        out = node.as_string()->get();
        return true;
      case toml::node_type::integer:
        out = std::to_string(node.as_integer()->get());
        return true;
      case toml::node_type::floating_point: {
        char buf[64];
        auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), node.as_floating_point()->get());
        out.assign(buf, ec == std::errc() ? end : buf);
        return true;
      }
      case toml::node_type::boolean:
        out = node.as_boolean()->get() ? "true" : "false";
        return true;
      default:
        return false;
    }
  }

  static std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
      case toml::node_type::table:
        return "a table";
      case toml::node_type::array:
        return "an array";
      case toml::node_type::date:
        return "a date";
      case toml::node_type::time:
        return "a time";
      case toml::node_type::date_time:
        return "a date-time";
      default:
        return "a value";
    }
  }

  void add(std::string name, const toml::node& node) {
    Setting s;
    s.name = std::move(name);
    s.origin = origin(node);
    if (const toml::array* arr = node.as_array()) {
      s.list.emplace();
      for (const toml::node& item : *arr) {
        std::string text;
        if (item.is_table()) {
          error(node, fmt::format("{}: arrays of tables are not supported", s.name));
          return;
        }
        if (!scalar_text(item, text)) {
          error(item, fmt::format("{}: {} is not accepted in a list", s.name, type_name(item)));
          return;
        }
        s.list->push_back(std::move(text));
      }
    } else if (!scalar_text(node, s.value)) {
      error(node, fmt::format("{}: {} is not accepted as a value", s.name, type_name(node)));
      return;
    }
    found.emplace_back(node.source().begin, std::move(s));
  }

  // Tables iterate in key order: put the settings back in file order, then refuse names
  // given twice (a quoted dotted key and a table can spell the same name).
  void finish() {
    std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return a.first.line != b.first.line ? a.first.line < b.first.line
                                          : a.first.column < b.first.column;
    });
    std::map<std::string, std::string> seen;  // name -> origin of its first definition
    for (auto& [pos, s] : found) {
      auto [it, inserted] = seen.emplace(s.name, s.origin);
      if (!inserted) {
        errors.push_back(fmt::format("{}: {} is set twice in the file (first at {})", s.origin,
                                     s.name, it->second));
        continue;
      }
      settings.push_back(std::move(s));
    }
  }

  void walk(const toml::table& table, const std::string& prefix) {
    for (auto&& [key, node] : table) {
      std::string name =
          prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
      if (const toml::table* sub = node.as_table()) {
        walk(*sub, name);
      } else {
        add(std::move(name), node);
      }
    }
  }
};

}  // namespace

Result<std::vector<Setting>> read_toml_settings(std::string_view text,
                                                std::string_view source_name) {
  using R = Result<std::vector<Setting>>;
  Reader reader;
  reader.source = std::string(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return R::failure(fmt::format("{}:{}:{}: TOML syntax error: {}", source_name, begin.line,
                                  begin.column, e.description()));
  } catch (const std::exception& e) {
    return R::failure(fmt::format("{}: cannot parse TOML: {}", source_name, e.what()));
  }
  reader.walk(root, "");
  reader.finish();
  if (!reader.errors.empty()) return R::failure(std::move(reader.errors));
  return std::move(reader.settings);
}

Result<std::vector<Setting>> read_toml_file(const std::string& path) {
  using R = Result<std::vector<Setting>>;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return R::failure(fmt::format("cannot read config file {}: {}", path, std::strerror(errno)));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return R::failure(fmt::format("cannot read config file {}", path));
  return read_toml_settings(buf.str(), path);
}

Result<Setting> parse_setting_arg(std::string_view arg, std::string_view origin) {
  auto kv = split_assignment(arg);
  if (!kv.ok()) return Result<Setting>::failure(std::string(origin) + ": " + kv.error_text());
  Setting s;
  s.name = std::move(kv.value().first);
  s.value = std::move(kv.value().second);
  s.origin = std::string(origin);
  return s;
}

}  // namespace kfk::config
