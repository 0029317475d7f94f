// Big-endian (network order) integers in byte buffers: the byte order of the Kafka protocol,
// of record batches and of the on-disk index and snapshot files.
//
//   load_be<T>(p)        reads sizeof(T) bytes at p
//   store_be<T>(p, v)    writes sizeof(T) bytes at p
//   append_be<T>(buf, v) appends sizeof(T) bytes to a byte vector (anything with size(),
//                        resize() and data())
//
// T is one of int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, always named at the
// call, so the width written never depends on the type of the argument (a size_t passed to
// store_be<uint32_t> writes 4 bytes). Signed values are two's complement. p needs no
// alignment. At run time this is one memcpy plus a byte swap on little-endian hosts, which
// compilers emit as a single load or store (movbe, or mov + bswap).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace kfk {

template <class T>
concept BigEndianInt = std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                       (sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);

namespace big_endian_detail {

template <class U>
constexpr U swap_bytes(U v) noexcept {
  if constexpr (sizeof(U) == 2)
    return __builtin_bswap16(v);
  else if constexpr (sizeof(U) == 4)
    return __builtin_bswap32(v);
  else
    return __builtin_bswap64(v);
}

}  // namespace big_endian_detail

template <BigEndianInt T>
constexpr T load_be(const uint8_t* p) noexcept {
  using U = std::make_unsigned_t<T>;
  U u = 0;
  if (std::is_constant_evaluated()) {
    for (size_t i = 0; i < sizeof(U); ++i) u = static_cast<U>((u << 8) | p[i]);
  } else {
    std::memcpy(&u, p, sizeof u);
    if constexpr (std::endian::native == std::endian::little) u = big_endian_detail::swap_bytes(u);
  }
  return static_cast<T>(u);
}

template <BigEndianInt T>
constexpr void store_be(uint8_t* p, std::type_identity_t<T> v) noexcept {
  using U = std::make_unsigned_t<T>;
  auto u = static_cast<U>(v);
  if (std::is_constant_evaluated()) {
    for (size_t i = sizeof(U); i-- > 0; u = static_cast<U>(u >> 8)) p[i] = static_cast<uint8_t>(u);
  } else {
    if constexpr (std::endian::native == std::endian::little) u = big_endian_detail::swap_bytes(u);
    std::memcpy(p, &u, sizeof u);
  }
}

template <BigEndianInt T, class ByteVector>
void append_be(ByteVector& out, std::type_identity_t<T> v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  store_be<T>(out.data() + at, v);
}

}  // namespace kfk
