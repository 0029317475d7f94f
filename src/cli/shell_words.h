// Splitting a line of the interactive shell into words, as a POSIX shell does for simple
// commands: blanks separate words; 'single quotes' keep everything; "double quotes" keep
// everything but \" \\ \$ \`; a backslash outside quotes keeps the next character.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kfk::cli {

struct ShellWords {
  std::vector<std::string> words;
  std::string error;  // "unterminated quote" and the like; words is empty then
  // The line ends inside a word (no blank after it): completion replaces that word.
  bool open_word = false;
};

ShellWords split_shell_words(std::string_view line);

// `word` quoted so that split_shell_words gives it back (unchanged when it needs no quotes).
std::string quote_shell_word(std::string_view word);

}  // namespace kfk::cli
