#include "server/cluster/metadata_quorum.h"

namespace kfk::server {

void MetadataQuorum::set_listener(Listener listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

storage::Result<int64_t> MetadataQuorum::append(std::vector<MetadataRecord> records) {
  std::lock_guard lock(mu_);
  const uint64_t bytes_before = log_->bytes_appended();
  auto offset = log_->append(records);
  if (!offset) return offset;
  // One voter: fsynced is committed.
  if (listener_)
    listener_(CommittedBatch{*offset, log_->bytes_appended() - bytes_before, std::move(records)});
  return offset;
}

storage::StorageError MetadataQuorum::close() {
  std::lock_guard lock(mu_);
  return log_->close();
}

}  // namespace kfk::server
