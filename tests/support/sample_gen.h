// Pseudo-random sample messages for the generated round-trip tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/protocol/reader.h"
#include "core/protocol/types.h"
#include "core/protocol/writer.h"

namespace kfk::protocol::testing {

// Deterministic generator (splitmix64) so a failing seed can be replayed.
class SampleGen {
 public:
  explicit SampleGen(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  bool chance(int one_in) { return next() % static_cast<uint64_t>(one_in) == 0; }
  int count() { return static_cast<int>(next() % 3); }

  template <class T>
  T value() {
    if constexpr (std::is_same_v<T, bool>) {
      return chance(2);
    } else if constexpr (std::is_same_v<T, double>) {
      return static_cast<double>(static_cast<int64_t>(next())) / 1024.0;
    } else if constexpr (std::is_same_v<T, Uuid>) {
      Uuid u;
      for (auto& b : u.bytes) b = static_cast<uint8_t>(next());
      return u;
    } else {
      // Mix small values (which exercise short varints) and full-range ones.
      return chance(2) ? static_cast<T>(next() % 200) : static_cast<T>(next());
    }
  }

  std::string text() {
    std::string s;
    for (int i = 0, n = static_cast<int>(next() % 12); i < n; ++i)
      s.push_back(static_cast<char>('a' + next() % 26));
    return s;
  }

  Bytes blob() {
    Bytes b(next() % 40);
    for (auto& x : b) x = static_cast<uint8_t>(next());
    return b;
  }

  // Adds unknown tags (numbered above every known tag) for the codec to carry through.
  void unknown_tags(TaggedFields& tags) {
    if (!chance(3)) return;
    uint32_t tag = 10000 + static_cast<uint32_t>(next() % 100);
    tags.push_back(TaggedField{tag, blob()});
    if (chance(2)) tags.push_back(TaggedField{tag + 1 + static_cast<uint32_t>(next() % 5), blob()});
  }

 private:
  uint64_t state_;
};

// Encodes m, checks the size function agrees, decodes, compares, re-encodes and compares the
// bytes. Returns an empty string on success or what went wrong.
template <class M>
std::string check_roundtrip(const M& m, int16_t version) {
  Writer w;
  m.encode(w, version);
  if (w.size() != m.encoded_size(version)) return "encoded_size() differs from the encoded length";
  M decoded;
  Reader r(w.bytes());
  if (!decoded.decode(r, version)) return "decode failed: " + r.error().message();
  if (!r.expect_end("end")) return "decode left bytes unread";
  if (!(decoded == m)) return "decoded message differs from the original";
  Writer again;
  decoded.encode(again, version);
  if (again.bytes() != w.bytes()) return "re-encoding differs";
  return {};
}

struct SampleCase {
  const char* name;
  int16_t min_version;
  int16_t max_version;
  std::function<std::string(int16_t version, uint64_t seed)> run;
};

const std::vector<SampleCase>& all_sample_cases();

}  // namespace kfk::protocol::testing
