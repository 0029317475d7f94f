#include "core/client/offset_reset.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>

namespace kfk::client {

namespace {

template <class Int>
bool to_int(std::string_view s, Int& out) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const auto pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

// Reads exactly `digits` decimal digits.
bool take_digits(std::string_view& s, size_t digits, int& out) {
  if (s.size() < digits) return false;
  out = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(digits);
  return true;
}

bool take(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

int64_t clamp_to_log(int64_t offset, const PartitionOffsets& o) {
  return std::max(o.log_start, std::min(offset, o.log_end));
}

}  // namespace

bool needs_time_lookup(const ResetSpec& spec) {
  return spec.kind == ResetSpec::Kind::datetime || spec.kind == ResetSpec::Kind::duration;
}

int64_t reset_timestamp(const ResetSpec& spec, int64_t now_ms) {
  return spec.kind == ResetSpec::Kind::duration ? now_ms - spec.value : spec.value;
}

std::optional<int64_t> plan_reset(const ResetSpec& spec, const TopicPartition& tp,
                                  const PartitionOffsets& o, std::string& error) {
  switch (spec.kind) {
    case ResetSpec::Kind::earliest:
      return o.log_start;
    case ResetSpec::Kind::latest:
      return o.log_end;
    case ResetSpec::Kind::offset:
      return clamp_to_log(spec.value, o);
    case ResetSpec::Kind::shift_by:
      if (o.committed < 0) {
        error = fmt::format(
            "cannot shift the offset of {}-{}: the group has no committed offset "
            "there",
            tp.topic, tp.partition);
        return std::nullopt;
      }
      return clamp_to_log(o.committed + spec.value, o);
    case ResetSpec::Kind::datetime:
    case ResetSpec::Kind::duration:
      return o.for_time >= 0 ? o.for_time : o.log_end;
    case ResetSpec::Kind::from_file: {
      const auto it = spec.file_offsets.find(tp);
      if (it == spec.file_offsets.end()) {
        error = fmt::format("the file has no offset for {}-{}", tp.topic, tp.partition);
        return std::nullopt;
      }
      return clamp_to_log(it->second, o);
    }
  }
  error = "unknown reset kind";
  return std::nullopt;
}

std::optional<int64_t> parse_iso_datetime_ms(std::string_view text) {
  std::string_view s = trim(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!take_digits(s, 4, year) || !take(s, '-') || !take_digits(s, 2, month) || !take(s, '-') ||
      !take_digits(s, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  int64_t millis = 0;
  if (take(s, 'T') || take(s, 't') || take(s, ' ')) {
    if (!take_digits(s, 2, hour) || !take(s, ':') || !take_digits(s, 2, minute)) {
      return std::nullopt;
    }
    if (take(s, ':')) {
      if (!take_digits(s, 2, second)) return std::nullopt;
      if (take(s, '.') || take(s, ',')) {
        int digits = 0;
        int64_t scale = 100;
        while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) {
          millis += (s.front() - '0') * scale;
          scale /= 10;
          ++digits;
          s.remove_prefix(1);
        }
        if (digits == 0 || digits > 9) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  }
  const int64_t local_seconds =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86'400 +
      int64_t{hour} * 3'600 + int64_t{minute} * 60 + second;
  if (s.empty()) {
    // No zone: local time, as Kafka's tool reads it.
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    tm.tm_isdst = -1;
    const std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return static_cast<int64_t>(t) * 1000 + millis;
  }
  int64_t offset_seconds = 0;
  if (take(s, 'Z') || take(s, 'z')) {
    offset_seconds = 0;
  } else if (s.front() == '+' || s.front() == '-') {
    const int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh = 0, om = 0;
    if (!take_digits(s, 2, oh)) return std::nullopt;
    take(s, ':');
    if (!s.empty() && !take_digits(s, 2, om)) return std::nullopt;
    if (oh > 18 || om > 59) return std::nullopt;
    offset_seconds = int64_t{sign} * (int64_t{oh} * 3'600 + int64_t{om} * 60);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  return (local_seconds - offset_seconds) * 1000 + millis;
}

std::optional<TopicSelection> parse_topic_selection(std::string_view text) {
  TopicSelection out;
  const auto colon = text.rfind(':');
  out.topic = std::string(text.substr(0, colon));
  if (out.topic.empty()) return std::nullopt;
  if (colon == std::string_view::npos) return out;
  for (auto part : split(text.substr(colon + 1), ',')) {
    int32_t p = 0;
    if (!to_int(part, p) || p < 0) return std::nullopt;
    if (std::find(out.partitions.begin(), out.partitions.end(), p) == out.partitions.end()) {
      out.partitions.push_back(p);
    }
  }
  std::sort(out.partitions.begin(), out.partitions.end());
  return out;
}

std::optional<std::map<TopicPartition, int64_t>> parse_reset_csv(std::string_view text,
                                                                 const std::string& group,
                                                                 std::string& error) {
  std::map<TopicPartition, int64_t> out;
  int line_number = 0;
  for (auto line : split(text, '\n')) {
    ++line_number;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto fields = split(line, ',');
    if (fields.size() == 4) {
      if (trim(fields[0]) != group) continue;
      fields.erase(fields.begin());
    }
    int32_t partition = 0;
    int64_t offset = 0;
    if (fields.size() != 3 || trim(fields[0]).empty() || !to_int(fields[1], partition) ||
        partition < 0 || !to_int(fields[2], offset) || offset < 0) {
      error = fmt::format("line {}: expected topic,partition,offset, got '{}'", line_number, line);
      return std::nullopt;
    }
    out[TopicPartition{std::string(trim(fields[0])), partition}] = offset;
  }
  return out;
}

}  // namespace kfk::client
