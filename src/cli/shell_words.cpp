#include "cli/shell_words.h"

namespace kfk::cli {

ShellWords split_shell_words(std::string_view line) {
  ShellWords out;
  std::string word;
  bool in_word = false;
  enum class Quote { none, single, double_ } quote = Quote::none;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == Quote::single) {
      if (c == '\'') {
        quote = Quote::none;
      } else {
        word += c;
      }
      continue;
    }
    if (quote == Quote::double_) {
      if (c == '"') {
        quote = Quote::none;
      } else if (c == '\\' && i + 1 < line.size() &&
                 (line[i + 1] == '"' || line[i + 1] == '\\' || line[i + 1] == '$' ||
                  line[i + 1] == '`')) {
        word += line[++i];
      } else {
        word += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) out.words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      quote = Quote::single;
    } else if (c == '"') {
      quote = Quote::double_;
    } else if (c == '\\') {
      if (i + 1 >= line.size()) {
        out.error = "the line ends with a lone backslash";
        out.words.clear();
        return out;
      }
      word += line[++i];
    } else {
      word += c;
    }
  }
  if (quote != Quote::none) {
    out.error = quote == Quote::single ? "unterminated ' quote" : "unterminated \" quote";
    out.words.clear();
    return out;
  }
  if (in_word) out.words.push_back(std::move(word));
  out.open_word = in_word;
  return out;
}

std::string quote_shell_word(std::string_view word) {
  if (word.empty()) return "''";
  bool plain = true;
  for (char c : word) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '/' || c == ':' || c == '=' ||
                      c == ',' || c == '@' || c == '+' || c == '%';
    if (!safe) plain = false;
  }
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

}  // namespace kfk::cli
