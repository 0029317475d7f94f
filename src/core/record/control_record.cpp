#include "core/record/control_record.h"

#include "core/protocol/reader.h"
#include "core/protocol/writer.h"

namespace kfk::record {

std::optional<ControlKey> parse_control_key(std::span<const uint8_t> key) {
  protocol::Reader r(key);
  ControlKey k;
  k.version = r.read_int16("control key version");
  k.type = r.read_int16("control key type");
  if (!r.ok() || k.version < 0) return std::nullopt;
  return k;
}

Bytes encode_control_key(ControlRecordType type) {
  protocol::Writer w(4);
  w.write_int16(0);
  w.write_int16(static_cast<int16_t>(type));
  return w.take();
}

std::optional<EndTxnMarker> parse_end_txn_marker(std::span<const uint8_t> value) {
  protocol::Reader r(value);
  EndTxnMarker m;
  m.version = r.read_int16("marker version");
  m.coordinator_epoch = r.read_int32("coordinator epoch");
  if (!r.ok() || m.version < 0) return std::nullopt;
  return m;
}

Bytes encode_end_txn_marker(int32_t coordinator_epoch) {
  protocol::Writer w(6);
  w.write_int16(0);
  w.write_int32(coordinator_epoch);
  return w.take();
}

Bytes build_end_txn_marker_batch(const EndTxnMarkerBatch& marker) {
  BatchOptions o;
  o.base_offset = marker.base_offset;
  o.partition_leader_epoch = marker.partition_leader_epoch;
  o.producer_id = marker.producer_id;
  o.producer_epoch = marker.producer_epoch;
  o.transactional = true;
  o.control = true;
  BatchBuilder b(o);
  Bytes key =
      encode_control_key(marker.commit ? ControlRecordType::commit : ControlRecordType::abort);
  Bytes value = encode_end_txn_marker(marker.coordinator_epoch);
  b.append(marker.timestamp, std::span<const uint8_t>(key), std::span<const uint8_t>(value));
  return b.build();
}

BatchError read_end_txn_marker(const BatchView& batch, TxnMarker& out,
                               const DecodeOptions& options) {
  DecodedRecords decoded;
  BatchError e = decode_records(batch, decoded, options);
  if (!e.ok()) return e;
  // decode_records has checked the key and value of every control record.
  if (!batch.is_control() || !batch.is_transactional() || decoded.records.size() != 1) {
    e.kind = BatchErrorKind::invalid_control;
    e.field = "attributes";
    e.detail = "not a transaction marker batch";
    return e;
  }
  const RecordView& r = decoded.records[0];
  auto key = parse_control_key(*r.key);
  auto value = parse_end_txn_marker(*r.value);
  if (!key || !value || (key->type != 0 && key->type != 1)) {
    e.kind = BatchErrorKind::invalid_control;
    e.field = "key";
    e.detail = "not an ABORT or COMMIT record";
    return e;
  }
  out.commit = key->type == static_cast<int16_t>(ControlRecordType::commit);
  out.coordinator_epoch = value->coordinator_epoch;
  out.producer_id = batch.producer_id();
  out.producer_epoch = batch.producer_epoch();
  out.offset = r.offset;
  out.timestamp = r.timestamp;
  return e;
}

}  // namespace kfk::record
