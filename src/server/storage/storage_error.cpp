#include "server/storage/storage_error.h"

#include <fmt/format.h>

#include <system_error>

namespace kfk::storage {

std::string_view to_string(StorageErrorKind kind) {
  switch (kind) {
    case StorageErrorKind::none:
      return "no error";
    case StorageErrorKind::io_error:
      return "I/O error";
    case StorageErrorKind::not_found:
      return "not found";
    case StorageErrorKind::corrupt_index:
      return "corrupt offset index";
    case StorageErrorKind::corrupt_time_index:
      return "corrupt time index";
    case StorageErrorKind::corrupt_batch:
      return "corrupt record batch";
    case StorageErrorKind::corrupt_snapshot:
      return "corrupt producer state snapshot";
    case StorageErrorKind::corrupt_checkpoint:
      return "corrupt checkpoint file";
    case StorageErrorKind::index_full:
      return "index full";
    case StorageErrorKind::invalid_index_entry:
      return "invalid index entry";
    case StorageErrorKind::offset_out_of_range:
      return "offset out of range";
    case StorageErrorKind::invalid_argument:
      return "invalid argument";
    case StorageErrorKind::closed:
      return "closed";
  }
  return "unknown storage error";
}

std::string StorageError::message() const {
  if (detail.empty()) return std::string(to_string(kind));
  return fmt::format("{}: {}", to_string(kind), detail);
}

protocol::ErrorCode StorageError::kafka_error_code() const {
  using E = protocol::ErrorCode;
  switch (kind) {
    case StorageErrorKind::none:
      return E::none;
    case StorageErrorKind::offset_out_of_range:
      return E::offset_out_of_range;
    case StorageErrorKind::invalid_argument:
      return E::invalid_request;
    case StorageErrorKind::corrupt_batch:
      return E::corrupt_message;
    case StorageErrorKind::closed:
      return E::not_leader_or_follower;
    default:
      return E::kafka_storage_error;
  }
}

StorageError StorageError::io(std::string_view what, int err) {
  return StorageError{StorageErrorKind::io_error,
                      fmt::format("{}: {}", what, std::generic_category().message(err)), err};
}

}  // namespace kfk::storage
