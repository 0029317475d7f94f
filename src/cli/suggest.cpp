#include "cli/suggest.h"

#include <algorithm>
#include <cstddef>

namespace kfk::cli {
namespace {

// Optimal string alignment distance: Levenshtein plus the swap of two neighbours, the most
// common typing slip ("tpoic").
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::vector<std::string> close_names(std::string_view typed,
                                     const std::vector<std::string>& names) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& name : names) {
    if (name == typed) continue;
    const size_t distance = edit_distance(typed, name);
    if (distance <= 2 && distance * 2 < typed.size()) scored.emplace_back(distance, name);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (auto& [distance, name] : scored) {
    if (out.size() == 3) break;
    out.push_back(std::move(name));
  }
  return out;
}

std::string did_you_mean(std::string_view typed, const std::vector<std::string>& names) {
  const auto close = close_names(typed, names);
  if (close.empty()) return {};
  std::string text = "did you mean ";
  for (size_t i = 0; i < close.size(); ++i) {
    if (i > 0) text += i + 1 == close.size() ? " or " : ", ";
    text += "'" + close[i] + "'";
  }
  return text + "?";
}

}  // namespace kfk::cli
