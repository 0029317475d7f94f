// "Did you mean ...?": the names closest to a mistyped one (commands, topics, groups).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kfk::cli {

// The names within a small edit distance of `typed` (insertions, deletions, substitutions and
// swaps of neighbours; at most 2, and less than half of `typed`), closest first, at most 3.
std::vector<std::string> close_names(std::string_view typed, const std::vector<std::string>& names);

// "did you mean 'topic'?" / "did you mean 'a' or 'b'?", or "" when nothing is close.
std::string did_you_mean(std::string_view typed, const std::vector<std::string>& names);

}  // namespace kfk::cli
