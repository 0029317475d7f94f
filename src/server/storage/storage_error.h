// Errors of the storage engine: one named kind per failure, never an exception.
//
// Every public storage function that can fail on bad disk content or a failed system call
// returns a StorageError (or a Result<T> holding one). The kind says what failed; `detail`
// says where (file, byte position, values seen) for the log line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/protocol/errors.h"

namespace kfk::storage {

enum class StorageErrorKind : uint8_t {
  none,
  io_error,             // a system call failed (errno in sys_errno)
  not_found,            // a file or directory that must exist is missing
  corrupt_index,        // an .index file fails its sanity check
  corrupt_time_index,   // a .timeindex file fails its sanity check
  corrupt_batch,        // a batch in a .log file fails framing, magic or CRC checks
  corrupt_snapshot,     // a producer state .snapshot file is damaged
  corrupt_checkpoint,   // a checkpoint file does not parse
  index_full,           // an append to an index that has no free slot
  invalid_index_entry,  // an index append that would break the ordering of entries
  offset_out_of_range,  // an offset outside [log start, log end]
  invalid_argument,     // a caller error (bad config, bad offset for the operation)
  closed,               // the log or segment was closed or removed
};

std::string_view to_string(StorageErrorKind kind);

struct StorageError {
  StorageErrorKind kind = StorageErrorKind::none;
  std::string detail;
  int sys_errno = 0;

  bool ok() const { return kind == StorageErrorKind::none; }
  std::string message() const;
  // The error a request handler answers with: KAFKA_STORAGE_ERROR for I/O failures and
  // damaged files, OFFSET_OUT_OF_RANGE, INVALID_REQUEST for caller errors.
  protocol::ErrorCode kafka_error_code() const;

  static StorageError make(StorageErrorKind kind, std::string detail) {
    return StorageError{kind, std::move(detail), 0};
  }
  // An io_error for a failed system call: "<what>: <strerror(err)>".
  static StorageError io(std::string_view what, int err);
};

// A value or a StorageError. Small on purpose: ok(), value(), error().
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}             // NOLINT(google-explicit-constructor)
  Result(StorageError error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

  const StorageError& error() const { return error_; }

 private:
  std::optional<T> value_;
  StorageError error_;
};

}  // namespace kfk::storage
