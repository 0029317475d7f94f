#include "server/storage/checkpoint_file.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace kfk::storage {

namespace {

constexpr size_t kMaxCheckpointBytes = size_t{512} << 20;

template <class T>
bool parse_int(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace

std::string format_checkpoint(const OffsetMap& offsets) {
  std::string out = fmt::format("0\n{}\n", offsets.size());
  for (const auto& [tp, offset] : offsets)
    out += fmt::format("{} {} {}\n", tp.topic, tp.partition, offset);
  return out;
}

Result<OffsetMap> parse_checkpoint(std::string_view text) {
  auto corrupt = [](size_t line, std::string what) {
    return StorageError::make(StorageErrorKind::corrupt_checkpoint,
                              fmt::format("line {}: {}", line, what));
  };
  std::vector<std::string_view> lines = split_lines(text);
  if (lines.empty()) return corrupt(1, "the file is empty");
  int version = 0;
  if (!parse_int(lines[0], version)) return corrupt(1, fmt::format("version '{}'", lines[0]));
  if (version != 0) return corrupt(1, fmt::format("unsupported version {}", version));
  if (lines.size() < 2) return corrupt(2, "the entry count is missing");
  int64_t count = 0;
  if (!parse_int(lines[1], count) || count < 0)
    return corrupt(2, fmt::format("entry count '{}'", lines[1]));
  // Trailing empty lines are tolerated; anything else after the entries is not.
  size_t used = lines.size();
  while (used > 2 && lines[used - 1].empty()) --used;
  if (static_cast<int64_t>(used - 2) != count)
    return corrupt(2, fmt::format("{} entries announced, {} present", count, used - 2));

  OffsetMap out;
  for (size_t i = 2; i < used; ++i) {
    std::string_view line = lines[i];
    size_t a = line.find(' ');
    size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (a == std::string_view::npos || b == std::string_view::npos || a == 0 ||
        line.find(' ', b + 1) != std::string_view::npos)
      return corrupt(i + 1, fmt::format("'{}' is not 'topic partition offset'", line));
    TopicPartition tp{std::string(line.substr(0, a)), 0};
    int64_t offset = 0;
    if (!parse_int(line.substr(a + 1, b - a - 1), tp.partition) || tp.partition < 0)
      return corrupt(i + 1, fmt::format("partition '{}'", line.substr(a + 1, b - a - 1)));
    if (!parse_int(line.substr(b + 1), offset))
      return corrupt(i + 1, fmt::format("offset '{}'", line.substr(b + 1)));
    if (!out.emplace(tp, offset).second)
      return corrupt(i + 1, fmt::format("partition {} appears twice", to_string(tp)));
  }
  return out;
}

StorageError OffsetCheckpointFile::write(const OffsetMap& offsets) const {
  std::string text = format_checkpoint(offsets);
  return write_file_atomically(
      path_, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Result<OffsetMap> OffsetCheckpointFile::read() const {
  auto bytes = read_file(path_, kMaxCheckpointBytes);
  if (!bytes) {
    if (bytes.error().kind == StorageErrorKind::not_found) return OffsetMap{};
    return bytes.error();
  }
  auto parsed = parse_checkpoint(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  if (!parsed) {
    StorageError e = parsed.error();
    e.detail = fmt::format("{}: {}", path_.string(), e.detail);
    return e;
  }
  return parsed;
}

}  // namespace kfk::storage
