// The text forms of records that `kfk consume` prints and `kfk produce` reads back.
//
// JSON lines (`--format json`): one object per record, on one line:
//
//   {"topic":"t","partition":0,"offset":5,"timestamp":1700000000000,
//    "timestamp_type":"CreateTime","key":"k1","value":{"n":1},
//    "headers":[{"key":"h","value":"v"}]}
//
// key, value and header values are each
//   - null for a null field,
//   - the bytes themselves, embedded as they are, when the field is a value (not a key or
//     header) holding one JSON object, array, number, true or false on one line with no
//     whitespace around it,
//   - a JSON string when the bytes are UTF-8 text (anything else, a JSON string included),
//   - a base64 string marked by a sibling "<name>_encoding":"base64" when they are not UTF-8.
// So every record reads back byte-exact: produce takes the string's text, the embedded JSON's
// exact bytes, or the decoded base64. Produce also takes "partition" and "timestamp", ignores
// "topic", "offset" and "timestamp_type", and accepts "headers" as an object {"k":"v"} too.
//
// Format strings (`--format '%k\t%v\n'`): literal text, backslash escapes (\n \t \r \\ \0
// \xHH) and %-tokens. Consume prints %t topic, %p partition, %o offset, %k key, %v (or %s)
// value, %K / %S key / value length (-1 for null), %T timestamp (ms), %h headers (k=v,k=v),
// %H header count, %% a percent sign; %k, %v and %h take a modifier: {hex}, {base64} or
// {json} (a JSON string, or null), e.g. %v{base64}. Produce reads %k, %v, %h, %p, %T (and
// {hex} / {base64} on %k, %v, %h): each token takes the input up to the literal text that
// follows it, and the last literal may be missing at the end of the input.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/client/consumer.h"
#include "core/record/record_batch.h"

namespace kfk::cli {

// One record of produce's input.
struct InputRecord {
  bool has_key = false;  // the input named a key (possibly null)
  std::optional<protocol::Bytes> key;
  bool has_value = false;
  std::optional<protocol::Bytes> value;
  std::vector<record::Header> headers;
  std::optional<int32_t> partition;
  std::optional<int64_t> timestamp;
};

bool valid_utf8(std::span<const uint8_t> bytes);
std::string to_base64(std::span<const uint8_t> bytes);
std::optional<protocol::Bytes> from_base64(std::string_view text);
std::string to_hex(std::span<const uint8_t> bytes);
std::optional<protocol::Bytes> from_hex(std::string_view text);
// `bytes` is exactly one JSON value other than a string or null, on one line, without
// surrounding whitespace: what consume embeds unquoted.
bool embeddable_json(std::span<const uint8_t> bytes);

// One record as one line of JSON, without the newline.
std::string record_to_json(const client::ConsumerRecord& record);
// One line of JSON as printed by record_to_json (or written by hand); nullopt with `error`.
std::optional<InputRecord> record_from_json(std::string_view line, std::string& error);

class RecordTemplate {
 public:
  enum class Use { print, read };
  // nullopt with `error` for an unknown token or modifier, a token the use does not allow,
  // or (for reading) two tokens without literal text between them.
  static std::optional<RecordTemplate> parse(std::string_view text, Use use, std::string& error);

  void print(const client::ConsumerRecord& record, std::string& out) const;

  enum class ReadResult { record, need_more, bad };
  // Reads one record from the front of `input`. `at_eof`: no more input will come, so a
  // missing final literal ends the record. On `record`, `used` is the bytes taken. `bad`
  // sets `error`.
  ReadResult read(std::string_view input, bool at_eof, InputRecord& out, size_t& used,
                  std::string& error) const;

  bool uses(char code) const;
  // The last part is a token, not literal text.
  bool ends_with_token() const { return !parts_.empty() && parts_.back().code != 0; }

 private:
  enum class Modifier : uint8_t { none, hex, base64, json };
  struct Part {
    char code = 0;  // 0: literal text
    Modifier modifier = Modifier::none;
    std::string text;
  };
  bool assign(const Part& part, std::string_view field, InputRecord& out, std::string& error) const;

  std::vector<Part> parts_;
};

}  // namespace kfk::cli
