// The LZ4 framing of message format v0 (Kafka 0.8-0.9, KAFKA-3160): those clients and
// brokers computed the frame header checksum over the magic number and the frame
// descriptor instead of over the descriptor alone. Kafka still reads and writes v0 LZ4
// wrappers that way (and ignores the checksum on read), so kfk does the same: the header
// byte is rewritten before liblz4 sees the frame, and after it wrote one.
//
// Frame header: magic 04 22 4D 18, FLG, BD, [content size 8 bytes if FLG bit 3],
// [dictionary id 4 bytes if FLG bit 0], HC = second byte of XXH32 (seed 0).
#pragma once

#include <cstdint>
#include <span>

namespace kfk::record {

// Sets the standard header checksum. False (nothing written) when the bytes do not start
// with a whole LZ4 frame header.
bool lz4_set_standard_header_checksum(std::span<uint8_t> frame);

// Sets the checksum message format v0 readers expect (over magic and descriptor).
bool lz4_set_kafka_v0_header_checksum(std::span<uint8_t> frame);

}  // namespace kfk::record
