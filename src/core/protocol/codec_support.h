// Helpers shared by the generated encoders and decoders. Included only by generated .cpp files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/protocol/reader.h"
#include "core/protocol/writer.h"

namespace kfk::protocol {

// --- strings ---------------------------------------------------------------------------------

template <class W>
void write_string_field(W& w, const std::string& v, bool compact, bool /*nullable*/) {
  compact ? w.write_compact_string(v) : w.write_string(v);
}

// A field typed nullable in some versions; in a version where it is not nullable, null is
// written as the empty string.
template <class W>
void write_string_field(W& w, const std::optional<std::string>& v, bool compact, bool nullable) {
  if (nullable) {
    compact ? w.write_compact_nullable_string(v) : w.write_nullable_string(v);
  } else {
    const std::string& s = v ? *v : std::string();
    compact ? w.write_compact_string(s) : w.write_string(s);
  }
}

inline void read_string_field(Reader& r, std::string& v, bool compact, bool /*nullable*/,
                              const char* field) {
  v = compact ? r.read_compact_string(field) : r.read_string(field);
}

inline void read_string_field(Reader& r, std::optional<std::string>& v, bool compact, bool nullable,
                              const char* field) {
  if (nullable) {
    v = compact ? r.read_compact_nullable_string(field) : r.read_nullable_string(field);
  } else {
    v = compact ? r.read_compact_string(field) : r.read_string(field);
  }
}

// --- bytes -----------------------------------------------------------------------------------

template <class W>
void write_bytes_field(W& w, const Bytes& v, bool compact, bool /*nullable*/) {
  compact ? w.write_compact_bytes(v) : w.write_bytes(v);
}

template <class W>
void write_bytes_field(W& w, const std::optional<Bytes>& v, bool compact, bool nullable) {
  if (nullable) {
    compact ? w.write_compact_nullable_bytes(v) : w.write_nullable_bytes(v);
  } else {
    static const Bytes empty;
    const Bytes& b = v ? *v : empty;
    compact ? w.write_compact_bytes(b) : w.write_bytes(b);
  }
}

inline void read_bytes_field(Reader& r, Bytes& v, bool compact, bool /*nullable*/,
                             const char* field) {
  v = compact ? r.read_compact_bytes(field) : r.read_bytes(field);
}

inline void read_bytes_field(Reader& r, std::optional<Bytes>& v, bool compact, bool nullable,
                             const char* field) {
  if (nullable) {
    v = compact ? r.read_compact_nullable_bytes(field) : r.read_nullable_bytes(field);
  } else {
    v = compact ? r.read_compact_bytes(field) : r.read_bytes(field);
  }
}

// --- arrays and structs ----------------------------------------------------------------------

template <class W>
void write_array_length(W& w, int32_t n, bool compact) {
  compact ? w.write_compact_array_length(n) : w.write_array_length(n);
}

inline int32_t read_array_length(Reader& r, bool compact, const char* field) {
  return compact ? r.read_compact_array_length(field) : r.read_array_length(field);
}

// A nullable struct is prefixed with an int8: -1 for null, 1 for present.
template <class W, class T, class Encode>
void encode_nullable_struct(W& w, const std::optional<T>& v, bool nullable, Encode&& encode) {
  if (nullable) {
    w.write_int8(v ? 1 : -1);
    if (v) encode(w, *v);
  } else {
    encode(w, v ? *v : T{});
  }
}

template <class T, class Decode>
void decode_nullable_struct(Reader& r, std::optional<T>& v, bool nullable, const char* field,
                            Decode&& decode) {
  if (nullable && r.read_int8(field) < 0) {
    v.reset();
    return;
  }
  decode(r, v.emplace());
}

// --- tagged fields ---------------------------------------------------------------------------

// Writes one tagged field: its tag, the size of its body, then the body.
template <class W, class Body>
void write_tagged_field(W& w, uint32_t tag, Body&& body) {
  SizeCounter size;
  body(size);
  w.write_uvarint(tag);
  w.write_uvarint(size.size());
  body(w);
}

template <class W>
void write_unknown_tag(W& w, const TaggedField& t) {
  w.write_uvarint(t.tag);
  w.write_uvarint(t.data.size());
  w.write_raw(t.data);
}

// Writes the unknown tags, from index `next`, whose number is below `tag`, so that known and
// unknown tags come out in increasing order.
template <class W>
void write_unknown_tags_before(W& w, const TaggedFields& unknown, size_t& next, uint32_t tag) {
  while (next < unknown.size() && (tag == UINT32_MAX || unknown[next].tag < tag)) {
    write_unknown_tag(w, unknown[next++]);
  }
}

template <class W>
void write_unknown_tags(W& w, const TaggedFields& unknown) {
  w.write_uvarint(unknown.size());
  for (const auto& t : unknown) write_unknown_tag(w, t);
}

}  // namespace kfk::protocol
