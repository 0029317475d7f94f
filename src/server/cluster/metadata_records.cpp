#include "server/cluster/metadata_records.h"

#include <fmt/format.h>

#include "core/protocol/reader.h"
#include "core/protocol/writer.h"

namespace kfk::server {

namespace {

// Each alternative's type number, in variant order.
constexpr MetadataRecordType kTypes[] = {
    MetadataRecordType::topic,           MetadataRecordType::partition,
    MetadataRecordType::config,          MetadataRecordType::remove_topic,
    MetadataRecordType::producer_ids,    MetadataRecordType::partition_change,
    MetadataRecordType::register_broker,
};
static_assert(std::size(kTypes) == std::variant_size_v<MetadataRecord>);

constexpr int16_t kRecordVersion = 0;

template <size_t I = 0>
std::optional<MetadataRecord> decode_as(uint32_t type, protocol::Reader& r, std::string& error) {
  if constexpr (I == std::variant_size_v<MetadataRecord>) {
    error = fmt::format("unknown metadata record type {}", type);
    return std::nullopt;
  } else {
    if (static_cast<uint32_t>(kTypes[I]) != type) return decode_as<I + 1>(type, r, error);
    std::variant_alternative_t<I, MetadataRecord> record;
    if (!record.decode(r, kRecordVersion)) {
      error = fmt::format("malformed {}: {}", record.message_name, r.error().message());
      return std::nullopt;
    }
    return MetadataRecord(std::move(record));
  }
}

}  // namespace

protocol::Bytes encode_metadata_record(const MetadataRecord& record) {
  return std::visit(
      [&](const auto& r) {
        const auto type = static_cast<uint32_t>(kTypes[record.index()]);
        protocol::Writer w(8 + r.encoded_size(kRecordVersion));
        w.write_uvarint(type);
        w.write_uvarint(static_cast<uint32_t>(kRecordVersion));
        r.encode(w, kRecordVersion);
        return w.take();
      },
      record);
}

std::optional<MetadataRecord> decode_metadata_record(std::span<const uint8_t> bytes,
                                                     std::string& error) {
  protocol::Reader r(bytes);
  const uint32_t type = r.read_uvarint("metadata record type");
  const uint32_t version = r.read_uvarint("metadata record version");
  if (!r.ok()) {
    error = r.error().message();
    return std::nullopt;
  }
  if (version != static_cast<uint32_t>(kRecordVersion)) {
    error = fmt::format("metadata record type {} has unknown version {}", type, version);
    return std::nullopt;
  }
  return decode_as(type, r, error);
}

}  // namespace kfk::server
