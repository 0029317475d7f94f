// How the group coordinator reports a failed write to __consumer_offsets: Kafka's mapping of
// storage errors to the errors group members and committers understand.
#pragma once

#include "core/protocol/errors.h"

namespace kfk::server::group {

// Storage failures as Kafka's coordinator reports them to group members.
inline protocol::ErrorCode member_error_for_store(protocol::ErrorCode e) {
  switch (e) {
    case protocol::ErrorCode::none:
      return e;
    case protocol::ErrorCode::unknown_topic_or_partition:
    case protocol::ErrorCode::not_enough_replicas:
    case protocol::ErrorCode::not_enough_replicas_after_append:
    case protocol::ErrorCode::request_timed_out:
      return protocol::ErrorCode::coordinator_not_available;
    case protocol::ErrorCode::not_leader_or_follower:
    case protocol::ErrorCode::kafka_storage_error:
      return protocol::ErrorCode::not_coordinator;
    case protocol::ErrorCode::message_too_large:
    case protocol::ErrorCode::record_list_too_large:
    case protocol::ErrorCode::invalid_fetch_size:
      return protocol::ErrorCode::unknown_server_error;
    default:
      return e;
  }
}

inline protocol::ErrorCode commit_error_for_store(protocol::ErrorCode e) {
  switch (e) {
    case protocol::ErrorCode::message_too_large:
    case protocol::ErrorCode::record_list_too_large:
    case protocol::ErrorCode::invalid_fetch_size:
      return protocol::ErrorCode::invalid_commit_offset_size;
    default:
      return member_error_for_store(e);
  }
}

}  // namespace kfk::server::group
