// CRC32C (Castagnoli), the checksum of Kafka record batches (magic 2).
//
// crc32c() picks the SSE4.2 instruction when the CPU has it and a table-driven routine
// otherwise. Both compute the same value; the explicit variants exist so tests can compare.
// Chaining works: crc32c(b, crc32c(a)) == crc32c(a followed by b).
#pragma once

#include <cstdint>
#include <span>

namespace kfk::record {

uint32_t crc32c(std::span<const uint8_t> data, uint32_t seed = 0);

// Slicing-by-8 tables; runs everywhere.
uint32_t crc32c_software(std::span<const uint8_t> data, uint32_t seed = 0);

// True when this CPU has the SSE4.2 crc32 instruction.
bool crc32c_hardware_available();
// The SSE4.2 path; falls back to software when crc32c_hardware_available() is false.
uint32_t crc32c_hardware(std::span<const uint8_t> data, uint32_t seed = 0);

}  // namespace kfk::record
