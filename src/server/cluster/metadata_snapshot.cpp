#include "server/cluster/metadata_snapshot.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "core/record/record_batch.h"
#include "server/cluster/image_apply.h"
#include "server/storage/file_io.h"

namespace kfk::server {

namespace fs = std::filesystem;
using storage::StorageError;
using storage::StorageErrorKind;

namespace {

constexpr std::string_view kRecordsHeader = "kfk.snapshot.records";
constexpr std::string_view kUnusableSuffix = ".unusable";
// Batches stay well below the default max.message.bytes, like the log's own.
constexpr size_t kMaxBatchBytes = 512 * 1024;
// A snapshot is read whole into memory; far above any image kfk can hold.
constexpr size_t kMaxSnapshotBytes = size_t{1} << 31;

template <class T>
bool parse_digits(std::string_view text, T& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size() && out >= 0;
}

StorageError corrupt(const fs::path& path, std::string what) {
  return StorageError::make(StorageErrorKind::corrupt_batch,
                            fmt::format("snapshot {}: {}", path.string(), what));
}

protocol::MetadataConfigRecord config_record(ConfigResourceType type, std::string resource,
                                             const std::string& name, const std::string& value) {
  protocol::MetadataConfigRecord c;
  c.resource_type = static_cast<int8_t>(type);
  c.resource_name = std::move(resource);
  c.name = name;
  c.value = value;
  return c;
}

}  // namespace

std::string snapshot_file_name(int64_t end_offset, int32_t epoch) {
  return fmt::format("{:020d}-{:010d}{}", end_offset, epoch, kSnapshotSuffix);
}

std::optional<SnapshotFile> parse_snapshot_file_name(const fs::path& path) {
  const std::string name = path.filename().string();
  // 20 digits, '-', 10 digits, suffix.
  if (name.size() != 31 + kSnapshotSuffix.size() || !name.ends_with(kSnapshotSuffix) ||
      name[20] != '-')
    return std::nullopt;
  SnapshotFile file;
  file.path = path;
  if (!parse_digits(std::string_view(name).substr(0, 20), file.end_offset) ||
      !parse_digits(std::string_view(name).substr(21, 10), file.epoch))
    return std::nullopt;
  return file;
}

storage::Result<std::vector<SnapshotFile>> list_snapshots(const fs::path& dir) {
  auto entries = storage::list_dir(dir);
  if (!entries) return entries.error();
  std::vector<SnapshotFile> out;
  for (const auto& entry : *entries)
    if (auto file = parse_snapshot_file_name(entry.path())) out.push_back(std::move(*file));
  std::sort(out.begin(), out.end(), [](const SnapshotFile& a, const SnapshotFile& b) {
    return std::tie(a.end_offset, a.epoch) < std::tie(b.end_offset, b.epoch);
  });
  return out;
}

std::vector<MetadataRecord> image_records(const MetadataImage& image) {
  std::vector<MetadataRecord> out;
  std::set<int32_t> brokers;
  for (const auto& broker : image.brokers) {
    if (!brokers.insert(broker.node_id).second) continue;
    protocol::MetadataRegisterBrokerRecord r;
    r.broker_id = broker.node_id;
    r.rack = broker.rack;
    out.emplace_back(std::move(r));
  }
  for (const auto& [name, value] : image.cluster_configs)
    out.emplace_back(config_record(ConfigResourceType::broker, "", name, value));
  for (const auto& [id, configs] : image.broker_configs)
    for (const auto& [name, value] : configs)
      out.emplace_back(config_record(ConfigResourceType::broker, std::to_string(id), name, value));
  if (image.next_producer_id > 0) {
    protocol::MetadataProducerIdsRecord r;
    r.broker_id = image.controller_id;
    r.broker_epoch = 0;
    r.next_producer_id = image.next_producer_id;
    out.emplace_back(r);
  }
  for (const auto& [name, topic] : image.topics) {
    protocol::MetadataTopicRecord t;
    t.name = name;
    t.topic_id = topic->id;
    out.emplace_back(std::move(t));
    for (const auto& [key, value] : topic->configs)
      out.emplace_back(config_record(ConfigResourceType::topic, name, key, value));
    for (const auto& p : topic->partitions) {
      protocol::MetadataPartitionRecord r;
      r.partition_id = p.partition;
      r.topic_id = topic->id;
      r.replicas = p.replicas;
      r.isr = p.isr;
      r.leader = p.leader;
      r.leader_epoch = p.leader_epoch;
      r.partition_epoch = 0;
      out.emplace_back(std::move(r));
    }
  }
  return out;
}

storage::Result<SnapshotWritten> write_snapshot(const fs::path& dir, const MetadataImage& image,
                                                int32_t epoch) {
  std::vector<MetadataRecord> records = image_records(image);
  if (records.empty()) {
    // An image without brokers, topics or settings: a record that changes nothing carries
    // the count header.
    protocol::MetadataRegisterBrokerRecord none;
    none.broker_id = image.controller_id;
    records.emplace_back(std::move(none));
  }
  const int64_t now = storage::wall_clock_ms();
  const std::string total = std::to_string(records.size());
  const record::HeaderView count_header{
      kRecordsHeader,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(total.data()), total.size())};

  SnapshotWritten out;
  out.file.end_offset = image.offset + 1;
  out.file.epoch = epoch;
  out.file.path = dir / snapshot_file_name(out.file.end_offset, epoch);
  out.records = records.size();
  fs::path tmp = out.file.path;
  tmp += storage::kTmpSuffix;
  {
    // Batches are written as they are built: the file is never held whole in memory.
    auto file = storage::FileHandle::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    if (!file) return file.error();
    int64_t next_offset = 0;
    size_t i = 0;
    while (i < records.size()) {
      record::BatchOptions options;
      options.base_offset = next_offset;
      record::BatchBuilder builder(options);
      while (i < records.size() && builder.uncompressed_size() < kMaxBatchBytes) {
        const protocol::Bytes value = encode_metadata_record(records[i]);
        std::span<const record::HeaderView> headers;
        if (i == 0) headers = std::span<const record::HeaderView>(&count_header, 1);
        if (!builder.append(now, std::nullopt, std::span<const uint8_t>(value), headers))
          return StorageError::make(StorageErrorKind::invalid_argument,
                                    "snapshot: a record could not be added to its batch");
        ++i;
      }
      next_offset = builder.next_offset();
      const protocol::Bytes batch = builder.build();
      if (auto e = storage::pwrite_all((*file)->fd(), batch, out.bytes, tmp); !e.ok()) return e;
      out.bytes += batch.size();
    }
    if (auto e = storage::fsync_file((*file)->fd(), tmp); !e.ok()) return e;
  }
  if (auto e = storage::rename_file(tmp, out.file.path); !e.ok()) return e;
  if (auto e = storage::fsync_dir(dir); !e.ok()) return e;
  return out;
}

storage::Result<std::vector<MetadataRecord>> read_snapshot(const fs::path& path) {
  auto bytes = storage::read_file(path, kMaxSnapshotBytes);
  if (!bytes) return bytes.error();
  std::vector<MetadataRecord> out;
  std::optional<size_t> expected;
  int64_t next_offset = 0;
  record::BatchIterator batches(*bytes);
  while (auto batch = batches.next()) {
    if (batch->base_offset() != next_offset)
      return corrupt(path, fmt::format("batch at offset {} where {} was expected",
                                       batch->base_offset(), next_offset));
    record::DecodedRecords records;
    if (auto err = record::decode_records(*batch, records); !err.ok())
      return corrupt(path, fmt::format("batch at offset {}: {}", next_offset, err.message()));
    for (const auto& r : records.records) {
      if (r.offset != next_offset)
        return corrupt(
            path, fmt::format("record at offset {} where {} was expected", r.offset, next_offset));
      if (r.offset == 0) {
        for (const auto& h : r.headers) {
          if (h.key != kRecordsHeader || !h.value) continue;
          size_t n = 0;
          std::string_view text(reinterpret_cast<const char*>(h.value->data()), h.value->size());
          if (!parse_digits(text, n)) return corrupt(path, "malformed record count");
          expected = n;
        }
      }
      std::string error;
      auto record = decode_metadata_record(r.value.value_or(std::span<const uint8_t>{}), error);
      if (!record) return corrupt(path, fmt::format("record at offset {}: {}", r.offset, error));
      out.push_back(std::move(*record));
      ++next_offset;
    }
    if (records.records.empty() && batch->records_count() != 0)
      return corrupt(path, "a batch lost its records");
  }
  if (batches.has_partial_batch() || !batches.error().ok() || batches.position() != bytes->size())
    return corrupt(path, fmt::format("torn or damaged after byte {}", batches.position()));
  if (!expected) return corrupt(path, "no record count");
  if (*expected != out.size())
    return corrupt(path, fmt::format("{} records where {} were written", out.size(), *expected));
  return out;
}

storage::StorageError remove_unfinished_snapshots(const fs::path& dir) {
  auto entries = storage::list_dir(dir);
  if (!entries) {
    if (entries.error().kind == StorageErrorKind::not_found) return {};
    return entries.error();
  }
  const std::string tmp_suffix = std::string(kSnapshotSuffix) + std::string(storage::kTmpSuffix);
  for (const auto& entry : *entries) {
    if (!entry.path().filename().string().ends_with(tmp_suffix)) continue;
    spdlog::info("removing the unfinished metadata snapshot {}", entry.path().string());
    if (auto e = storage::remove_file(entry.path()); !e.ok()) return e;
  }
  return {};
}

storage::Result<std::optional<LoadedSnapshot>> load_newest_snapshot(const fs::path& dir,
                                                                    MetadataImage& image) {
  auto snapshots = list_snapshots(dir);
  if (!snapshots) return snapshots.error();
  for (auto it = snapshots->rbegin(); it != snapshots->rend(); ++it) {
    auto records = read_snapshot(it->path);
    if (!records) {
      // Set aside (kept for inspection), so that it no longer counts among the snapshots kept
      // and the log is never trimmed on its account.
      fs::path aside = it->path;
      aside += kUnusableSuffix;
      spdlog::warn("metadata snapshot {} is not usable, renamed to {}; trying an older one: {}",
                   it->path.string(), aside.filename().string(), records.error().message());
      if (auto e = storage::rename_file(it->path, aside); !e.ok())
        spdlog::warn("could not rename {}: {}", it->path.string(), e.message());
      continue;
    }
    MetadataImage next = image;
    for (const auto& record : *records)
      if (auto problem = apply_metadata_record(next, record); !problem.empty())
        spdlog::warn("metadata snapshot {}: skipping a record: {}", it->path.string(), problem);
    next.offset = it->end_offset - 1;
    image = std::move(next);
    return std::optional<LoadedSnapshot>(LoadedSnapshot{*it, records->size()});
  }
  return std::optional<LoadedSnapshot>{};
}

storage::Result<std::optional<int64_t>> remove_old_snapshots(const fs::path& dir, size_t keep) {
  auto snapshots = list_snapshots(dir);
  if (!snapshots) return snapshots.error();
  const size_t remove = snapshots->size() > keep ? snapshots->size() - keep : 0;
  for (size_t i = 0; i < remove; ++i)
    if (auto e = storage::remove_file((*snapshots)[i].path); !e.ok()) return e;
  if (remove > 0)
    if (auto e = storage::fsync_dir(dir); !e.ok()) return e;
  if (snapshots->size() == remove) return std::optional<int64_t>{};
  return std::optional<int64_t>((*snapshots)[remove].end_offset);
}

}  // namespace kfk::server
