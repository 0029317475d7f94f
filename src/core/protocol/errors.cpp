#include "core/protocol/errors.h"

#include <algorithm>
#include <array>
#include <string>

namespace kfk::protocol {
namespace {

// Kafka's clients retry an error when its exception class derives from RetriableException;
// `retry` marks exactly those codes, `fatal` all others.
constexpr bool retry = true;
constexpr bool fatal = false;

// A table row plus the enumerator's spelling, so the compiler can check the two agree.
struct Row {
  ErrorInfo info;
  std::string_view enumerator;
};

// NOLINTNEXTLINE(cppcoreguidelines-macro-usage): the only way to get the enumerator's spelling.
#define KFK_ERROR(id, NAME, retriable, message, hint) \
  Row { ErrorInfo{ErrorCode::id, NAME, retriable, message, hint}, #id }

// clang-format off
constexpr std::array kRows{
  KFK_ERROR(unknown_server_error, "UNKNOWN_SERVER_ERROR", fatal,
    "The broker hit an unexpected internal error while handling the request.",
    "Check the broker log for the cause; retrying rarely helps until it is fixed."),
  KFK_ERROR(none, "NONE", fatal,
    "No error.",
    "Nothing to do."),
  KFK_ERROR(offset_out_of_range, "OFFSET_OUT_OF_RANGE", fatal,
    "The requested offset lies outside the range of offsets the partition currently holds.",
    "Start from the earliest or latest offset instead, or reset the consumer group's offsets."),
  KFK_ERROR(corrupt_message, "CORRUPT_MESSAGE", retry,
    "A record failed its checksum, has an invalid size, lacks the key a compacted topic needs, or is otherwise malformed.",
    "If it keeps happening, check the producing client and its compression; records sent to a compacted topic need a key."),
  KFK_ERROR(unknown_topic_or_partition, "UNKNOWN_TOPIC_OR_PARTITION", retry,
    "The broker does not host the requested topic or partition.",
    "Check the topic name and partition number ('kfk topic list', 'kfk topic describe'), or create the topic first."),
  KFK_ERROR(invalid_fetch_size, "INVALID_FETCH_SIZE", fatal,
    "The fetch request asked for an invalid number of bytes.",
    "Use positive fetch sizes (fetch.max.bytes, max.partition.fetch.bytes)."),
  KFK_ERROR(leader_not_available, "LEADER_NOT_AVAILABLE", retry,
    "The partition has no leader right now, usually because a leader election is under way.",
    "Wait a moment and retry; a new leader is normally in place within seconds."),
  KFK_ERROR(not_leader_or_follower, "NOT_LEADER_OR_FOLLOWER", retry,
    "The broker is not the partition's leader, or for replica requests not one of its replicas.",
    "Refresh the metadata and retry against the current leader; clients do this by themselves."),
  KFK_ERROR(request_timed_out, "REQUEST_TIMED_OUT", retry,
    "The broker did not complete the request within the allowed time.",
    "Retry, or allow more time (request.timeout.ms) if the broker is busy."),
  KFK_ERROR(broker_not_available, "BROKER_NOT_AVAILABLE", fatal,
    "A broker that the request depends on is not available.",
    "Check that the broker is running and reachable at the addresses given with -b/--brokers."),
  KFK_ERROR(replica_not_available, "REPLICA_NOT_AVAILABLE", retry,
    "A replica of the partition is not available on the broker.",
    ""),
  KFK_ERROR(message_too_large, "MESSAGE_TOO_LARGE", fatal,
    "A record is larger than the largest record the broker accepts.",
    "Send smaller records, or raise the topic's max.message.bytes together with the producer's max.request.size."),
  KFK_ERROR(stale_controller_epoch, "STALE_CONTROLLER_EPOCH", fatal,
    "The request came from a controller that has since been replaced.",
    ""),
  KFK_ERROR(offset_metadata_too_large, "OFFSET_METADATA_TOO_LARGE", fatal,
    "The metadata string attached to an offset commit is too long.",
    "Commit a shorter metadata string; the broker's offset.metadata.max.bytes sets the limit."),
  KFK_ERROR(network_exception, "NETWORK_EXCEPTION", retry,
    "The connection to the broker closed before a response arrived.",
    "Retry; if it keeps happening, check the network path and the broker log."),
  KFK_ERROR(coordinator_load_in_progress, "COORDINATOR_LOAD_IN_PROGRESS", retry,
    "The coordinator is still loading its state and cannot serve requests yet.",
    "Wait a few seconds and retry; this clears once the coordinator has finished loading."),
  KFK_ERROR(coordinator_not_available, "COORDINATOR_NOT_AVAILABLE", retry,
    "No coordinator is available for the group or transaction right now.",
    "Wait and retry; on a new cluster the internal offsets or transaction topic may still be being created."),
  KFK_ERROR(not_coordinator, "NOT_COORDINATOR", retry,
    "The broker is not the coordinator for this group or transaction.",
    "Look the coordinator up again and retry; clients do this by themselves."),
  KFK_ERROR(invalid_topic_exception, "INVALID_TOPIC_EXCEPTION", fatal,
    "The topic name is invalid, or the operation is not allowed on this topic.",
    "Topic names use only letters, digits, '.', '_' and '-', are at most 249 characters long, and cannot be '.' or '..'."),
  KFK_ERROR(record_list_too_large, "RECORD_LIST_TOO_LARGE", fatal,
    "A record batch is larger than the log segment size configured on the broker.",
    "Send smaller batches (batch.size) or raise the topic's segment.bytes."),
  KFK_ERROR(not_enough_replicas, "NOT_ENOUGH_REPLICAS", retry,
    "The write was refused because fewer replicas are in sync than the topic requires.",
    "Wait for the replicas to catch up, or lower the topic's min.insync.replicas."),
  KFK_ERROR(not_enough_replicas_after_append, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", retry,
    "The write was stored, but fewer replicas are in sync than the topic requires.",
    "Wait for the replicas to catch up, or lower the topic's min.insync.replicas."),
  KFK_ERROR(invalid_required_acks, "INVALID_REQUIRED_ACKS", fatal,
    "The produce request used an acks value the broker does not accept.",
    "Use acks=0, acks=1 or acks=all."),
  KFK_ERROR(illegal_generation, "ILLEGAL_GENERATION", fatal,
    "The group generation in the request is not the current one.",
    "The group has rebalanced since; rejoin it and commit again."),
  KFK_ERROR(inconsistent_group_protocol, "INCONSISTENT_GROUP_PROTOCOL", fatal,
    "The member's protocol type or assignment strategies are empty or do not match the rest of the group.",
    "Use the same group protocol and partition.assignment.strategy on every member of the group."),
  KFK_ERROR(invalid_group_id, "INVALID_GROUP_ID", fatal,
    "The group id is empty or otherwise invalid.",
    "Pass a non-empty group id."),
  KFK_ERROR(unknown_member_id, "UNKNOWN_MEMBER_ID", fatal,
    "The coordinator does not know this member of the group.",
    "The member was dropped from the group, for instance after a session timeout; rejoin the group."),
  KFK_ERROR(invalid_session_timeout, "INVALID_SESSION_TIMEOUT", fatal,
    "The session timeout is outside the range the broker allows.",
    "Pick a session.timeout.ms between the broker's group.min.session.timeout.ms and group.max.session.timeout.ms."),
  KFK_ERROR(rebalance_in_progress, "REBALANCE_IN_PROGRESS", fatal,
    "The group is rebalancing, so the member has to rejoin it.",
    "Rejoin the group and retry once the rebalance is over; consumers do this on their next poll."),
  KFK_ERROR(invalid_commit_offset_size, "INVALID_COMMIT_OFFSET_SIZE", fatal,
    "The size of the offset commit data is not valid.",
    ""),
  KFK_ERROR(topic_authorization_failed, "TOPIC_AUTHORIZATION_FAILED", fatal,
    "The client is not allowed to perform this operation on the topic.",
    "Ask an administrator for the needed ACLs on the topic, or check which credentials are in use."),
  KFK_ERROR(group_authorization_failed, "GROUP_AUTHORIZATION_FAILED", fatal,
    "The client is not allowed to use this consumer group.",
    "Ask an administrator for the needed ACLs on the group, or check which credentials are in use."),
  KFK_ERROR(cluster_authorization_failed, "CLUSTER_AUTHORIZATION_FAILED", fatal,
    "The client is not allowed to perform this cluster-wide operation.",
    "Ask an administrator for the needed cluster ACLs, or check which credentials are in use."),
  KFK_ERROR(invalid_timestamp, "INVALID_TIMESTAMP", fatal,
    "A record's timestamp is outside the range the broker accepts.",
    "Check the producer's clock and the topic's message.timestamp.before.max.ms and message.timestamp.after.max.ms."),
  KFK_ERROR(unsupported_sasl_mechanism, "UNSUPPORTED_SASL_MECHANISM", fatal,
    "The broker does not offer the SASL mechanism the client asked for.",
    "Choose a mechanism the broker has enabled (sasl.mechanism), such as PLAIN or SCRAM-SHA-256."),
  KFK_ERROR(illegal_sasl_state, "ILLEGAL_SASL_STATE", fatal,
    "The request is not allowed at this stage of the SASL handshake.",
    ""),
  KFK_ERROR(unsupported_version, "UNSUPPORTED_VERSION", fatal,
    "The broker does not support the API version the request was sent with.",
    "The client and broker share no version of this API; upgrade the older of the two."),
  KFK_ERROR(topic_already_exists, "TOPIC_ALREADY_EXISTS", fatal,
    "A topic with this name already exists.",
    "Use the existing topic, pick another name, or delete the old topic first."),
  KFK_ERROR(invalid_partitions, "INVALID_PARTITIONS", fatal,
    "The requested number of partitions is invalid.",
    "Use at least 1 partition; an existing topic's partition count can only grow."),
  KFK_ERROR(invalid_replication_factor, "INVALID_REPLICATION_FACTOR", fatal,
    "The replication factor is below 1 or above the number of available brokers.",
    "Use a replication factor between 1 and the number of brokers (1 on a single-node cluster)."),
  KFK_ERROR(invalid_replica_assignment, "INVALID_REPLICA_ASSIGNMENT", fatal,
    "The explicit replica assignment in the request is invalid.",
    "Give every partition the same number of replicas, each a distinct, existing broker id."),
  KFK_ERROR(invalid_config, "INVALID_CONFIG", fatal,
    "A configuration name or value in the request is invalid.",
    "Check the config names and values against the broker's documentation; 'kfk topic describe' shows a topic's current configs."),
  KFK_ERROR(not_controller, "NOT_CONTROLLER", retry,
    "The broker is not the cluster's active controller.",
    "Retry; the client will locate the active controller."),
  KFK_ERROR(invalid_request, "INVALID_REQUEST", fatal,
    "The broker could not make sense of the request; it is malformed or meant for a different broker version.",
    "The broker log has the exact reason; this usually points at a client bug or a client and broker mismatch."),
  KFK_ERROR(unsupported_for_message_format, "UNSUPPORTED_FOR_MESSAGE_FORMAT", fatal,
    "The topic's record format does not support this request.",
    ""),
  KFK_ERROR(policy_violation, "POLICY_VIOLATION", fatal,
    "The request breaks a policy configured on the broker.",
    "Adjust the request to the broker's policy, or ask an administrator which policy applies."),
  KFK_ERROR(out_of_order_sequence_number, "OUT_OF_ORDER_SEQUENCE_NUMBER", fatal,
    "An idempotent producer sent a batch whose sequence number is not the next one the broker expects.",
    "Records may have been lost between producer and broker; restart the producer and check the data."),
  KFK_ERROR(duplicate_sequence_number, "DUPLICATE_SEQUENCE_NUMBER", fatal,
    "An idempotent producer sent a batch the broker has already written.",
    ""),
  KFK_ERROR(invalid_producer_epoch, "INVALID_PRODUCER_EPOCH", fatal,
    "The producer sent with an epoch older than the one the broker has on record.",
    ""),
  KFK_ERROR(invalid_txn_state, "INVALID_TXN_STATE", fatal,
    "The transactional request is not valid in the transaction's current state.",
    "Check the order of the transactional calls: begin, send, then commit or abort."),
  KFK_ERROR(invalid_producer_id_mapping, "INVALID_PRODUCER_ID_MAPPING", fatal,
    "The producer id is not the one currently assigned to this transactional id.",
    ""),
  KFK_ERROR(invalid_transaction_timeout, "INVALID_TRANSACTION_TIMEOUT", fatal,
    "The transaction timeout is longer than the broker allows.",
    "Lower transaction.timeout.ms to at most the broker's transaction.max.timeout.ms."),
  KFK_ERROR(concurrent_transactions, "CONCURRENT_TRANSACTIONS", retry,
    "Another operation on the same transaction is still in progress.",
    "Retry shortly; the previous step of the transaction has to finish first."),
  KFK_ERROR(transaction_coordinator_fenced, "TRANSACTION_COORDINATOR_FENCED", fatal,
    "The transaction coordinator that sent the request has been replaced by a newer one.",
    ""),
  KFK_ERROR(transactional_id_authorization_failed, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", fatal,
    "The client is not allowed to use this transactional id.",
    "Ask an administrator for the needed ACLs on the transactional id."),
  KFK_ERROR(security_disabled, "SECURITY_DISABLED", fatal,
    "The security feature the request needs is turned off on the broker.",
    ""),
  KFK_ERROR(operation_not_attempted, "OPERATION_NOT_ATTEMPTED", fatal,
    "The broker skipped this operation because another operation in the same request failed.",
    "Fix the error reported for the other operations in the request, then retry."),
  KFK_ERROR(kafka_storage_error, "KAFKA_STORAGE_ERROR", retry,
    "The broker hit a disk error while accessing the partition's log.",
    "Check the broker's log directories and the health of its disks."),
  KFK_ERROR(log_dir_not_found, "LOG_DIR_NOT_FOUND", fatal,
    "The requested log directory is not one the broker is configured with.",
    ""),
  KFK_ERROR(sasl_authentication_failed, "SASL_AUTHENTICATION_FAILED", fatal,
    "The broker rejected the SASL credentials.",
    "Check the SASL user, password and mechanism passed with -X."),
  KFK_ERROR(unknown_producer_id, "UNKNOWN_PRODUCER_ID", fatal,
    "The broker has no state for this producer id, for instance because all of its records have expired.",
    "The producer normally recovers by itself; if it does not, restart it."),
  KFK_ERROR(reassignment_in_progress, "REASSIGNMENT_IN_PROGRESS", fatal,
    "A partition reassignment is already under way.",
    "Wait for the running reassignment to finish, then retry."),
  KFK_ERROR(delegation_token_auth_disabled, "DELEGATION_TOKEN_AUTH_DISABLED", fatal,
    "Delegation tokens are not enabled on the broker.",
    ""),
  KFK_ERROR(delegation_token_not_found, "DELEGATION_TOKEN_NOT_FOUND", fatal,
    "The broker has no such delegation token.",
    ""),
  KFK_ERROR(delegation_token_owner_mismatch, "DELEGATION_TOKEN_OWNER_MISMATCH", fatal,
    "The principal is neither the owner nor a renewer of the delegation token.",
    ""),
  KFK_ERROR(delegation_token_request_not_allowed, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", fatal,
    "Delegation token requests are refused on plaintext, one-way TLS and token-authenticated connections.",
    ""),
  KFK_ERROR(delegation_token_authorization_failed, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", fatal,
    "The client is not allowed to manage this delegation token.",
    ""),
  KFK_ERROR(delegation_token_expired, "DELEGATION_TOKEN_EXPIRED", fatal,
    "The delegation token has expired.",
    ""),
  KFK_ERROR(invalid_principal_type, "INVALID_PRINCIPAL_TYPE", fatal,
    "The principal type in the request is not supported.",
    ""),
  KFK_ERROR(non_empty_group, "NON_EMPTY_GROUP", fatal,
    "The group still has active members.",
    "Stop the group's consumers before deleting the group or resetting its offsets."),
  KFK_ERROR(group_id_not_found, "GROUP_ID_NOT_FOUND", fatal,
    "No group with this id exists.",
    "Check the group id with 'kfk group list'."),
  KFK_ERROR(fetch_session_id_not_found, "FETCH_SESSION_ID_NOT_FOUND", retry,
    "The broker no longer knows the fetch session the request refers to.",
    ""),
  KFK_ERROR(invalid_fetch_session_epoch, "INVALID_FETCH_SESSION_EPOCH", retry,
    "The fetch session epoch in the request is not the one the broker expects.",
    ""),
  KFK_ERROR(listener_not_found, "LISTENER_NOT_FOUND", retry,
    "The partition's leader has no listener with the name the metadata request arrived on.",
    "Give every broker the same set of listener names."),
  KFK_ERROR(topic_deletion_disabled, "TOPIC_DELETION_DISABLED", fatal,
    "Topic deletion is turned off on the broker.",
    "Enable delete.topic.enable on the broker, or keep the topic."),
  KFK_ERROR(fenced_leader_epoch, "FENCED_LEADER_EPOCH", retry,
    "The leader epoch in the request is older than the broker's.",
    ""),
  KFK_ERROR(unknown_leader_epoch, "UNKNOWN_LEADER_EPOCH", retry,
    "The leader epoch in the request is newer than the broker's.",
    ""),
  KFK_ERROR(unsupported_compression_type, "UNSUPPORTED_COMPRESSION_TYPE", fatal,
    "The client is too old to read the compression codec the partition uses.",
    "Upgrade the client, or produce to the topic with a codec the client supports."),
  KFK_ERROR(stale_broker_epoch, "STALE_BROKER_EPOCH", fatal,
    "The broker epoch in the request is out of date.",
    ""),
  KFK_ERROR(offset_not_available, "OFFSET_NOT_AVAILABLE", retry,
    "The new leader's high watermark has not caught up yet, so offsets cannot be looked up safely.",
    ""),
  KFK_ERROR(member_id_required, "MEMBER_ID_REQUIRED", fatal,
    "The member has to obtain a member id from the coordinator before it can join the group.",
    ""),
  KFK_ERROR(preferred_leader_not_available, "PREFERRED_LEADER_NOT_AVAILABLE", retry,
    "The partition's preferred leader is not available.",
    ""),
  KFK_ERROR(group_max_size_reached, "GROUP_MAX_SIZE_REACHED", fatal,
    "The group already has as many members as the broker allows.",
    "Stop some members, or raise group.max.size on the broker."),
  KFK_ERROR(fenced_instance_id, "FENCED_INSTANCE_ID", fatal,
    "Another member with the same group.instance.id has replaced this static member.",
    "Give every consumer instance its own group.instance.id."),
  KFK_ERROR(eligible_leaders_not_available, "ELIGIBLE_LEADERS_NOT_AVAILABLE", retry,
    "No replica that could become the partition's leader is available.",
    ""),
  KFK_ERROR(election_not_needed, "ELECTION_NOT_NEEDED", retry,
    "The partition already has the leader that the election would choose.",
    ""),
  KFK_ERROR(no_reassignment_in_progress, "NO_REASSIGNMENT_IN_PROGRESS", fatal,
    "There is no partition reassignment under way.",
    ""),
  KFK_ERROR(group_subscribed_to_topic, "GROUP_SUBSCRIBED_TO_TOPIC", fatal,
    "The group's offsets for a topic cannot be deleted while the group is subscribed to it.",
    "Stop the group's consumers, or drop the topic from their subscription, first."),
  KFK_ERROR(invalid_record, "INVALID_RECORD", fatal,
    "The broker rejected a record that failed its validation.",
    "Check the record against the topic's rules: compacted topics need keys, and timestamps must be valid."),
  KFK_ERROR(unstable_offset_commit, "UNSTABLE_OFFSET_COMMIT", retry,
    "The partition has pending transactional offset commits that must be settled first.",
    ""),
  KFK_ERROR(throttling_quota_exceeded, "THROTTLING_QUOTA_EXCEEDED", retry,
    "The request was refused because the client went over one of the broker's quotas.",
    "Slow down and retry later, or ask an administrator to raise the quota."),
  KFK_ERROR(producer_fenced, "PRODUCER_FENCED", fatal,
    "A newer producer with the same transactional id has taken over from this one.",
    "Make sure only one running producer uses each transactional.id."),
  KFK_ERROR(resource_not_found, "RESOURCE_NOT_FOUND", fatal,
    "The request refers to a resource that does not exist.",
    ""),
  KFK_ERROR(duplicate_resource, "DUPLICATE_RESOURCE", fatal,
    "The request names the same resource more than once.",
    "Name each resource only once per request."),
  KFK_ERROR(unacceptable_credential, "UNACCEPTABLE_CREDENTIAL", fatal,
    "The requested credential does not meet the broker's requirements.",
    ""),
  KFK_ERROR(inconsistent_voter_set, "INCONSISTENT_VOTER_SET", fatal,
    "The sender or receiver of a voter request is not among the expected voters.",
    ""),
  KFK_ERROR(invalid_update_version, "INVALID_UPDATE_VERSION", fatal,
    "The requested feature version update is not valid.",
    ""),
  KFK_ERROR(feature_update_failed, "FEATURE_UPDATE_FAILED", fatal,
    "The finalized feature versions could not be updated because of an unexpected broker error.",
    ""),
  KFK_ERROR(principal_deserialization_failure, "PRINCIPAL_DESERIALIZATION_FAILURE", fatal,
    "The principal of a forwarded request could not be decoded, which points at a broker security misconfiguration.",
    ""),
  KFK_ERROR(snapshot_not_found, "SNAPSHOT_NOT_FOUND", fatal,
    "The requested metadata snapshot does not exist.",
    ""),
  KFK_ERROR(position_out_of_range, "POSITION_OUT_OF_RANGE", fatal,
    "The requested position lies outside the snapshot.",
    ""),
  KFK_ERROR(unknown_topic_id, "UNKNOWN_TOPIC_ID", retry,
    "The broker does not host a topic with this topic id.",
    ""),
  KFK_ERROR(duplicate_broker_registration, "DUPLICATE_BROKER_REGISTRATION", fatal,
    "Another broker has already registered with this broker id.",
    "Give every broker its own node.id."),
  KFK_ERROR(broker_id_not_registered, "BROKER_ID_NOT_REGISTERED", fatal,
    "No broker with this id is registered.",
    ""),
  KFK_ERROR(inconsistent_topic_id, "INCONSISTENT_TOPIC_ID", retry,
    "The topic id in the request does not match the one recorded in the partition's log.",
    ""),
  KFK_ERROR(inconsistent_cluster_id, "INCONSISTENT_CLUSTER_ID", fatal,
    "The cluster id in the request differs from the broker's.",
    "Make sure every node was formatted with the same cluster id."),
  KFK_ERROR(transactional_id_not_found, "TRANSACTIONAL_ID_NOT_FOUND", fatal,
    "No transaction with this transactional id exists.",
    ""),
  KFK_ERROR(fetch_session_topic_id_error, "FETCH_SESSION_TOPIC_ID_ERROR", retry,
    "The fetch session used topic ids inconsistently.",
    ""),
  KFK_ERROR(ineligible_replica, "INELIGIBLE_REPLICA", fatal,
    "The proposed set of in-sync replicas contains a replica that is not eligible.",
    ""),
  KFK_ERROR(new_leader_elected, "NEW_LEADER_ELECTED", fatal,
    "The partition state was updated, but a different leader has been elected in the meantime.",
    ""),
  KFK_ERROR(offset_moved_to_tiered_storage, "OFFSET_MOVED_TO_TIERED_STORAGE", fatal,
    "The requested offset is no longer on the broker's local disk but in tiered storage.",
    ""),
  KFK_ERROR(fenced_member_epoch, "FENCED_MEMBER_EPOCH", fatal,
    "The coordinator has fenced this member's epoch; the member must give up its partitions and rejoin.",
    ""),
  KFK_ERROR(unreleased_instance_id, "UNRELEASED_INSTANCE_ID", fatal,
    "Another member of the group still holds this instance id and has to leave first.",
    ""),
  KFK_ERROR(unsupported_assignor, "UNSUPPORTED_ASSIGNOR", fatal,
    "The group does not support the requested assignor or any of its versions.",
    ""),
  KFK_ERROR(stale_member_epoch, "STALE_MEMBER_EPOCH", fatal,
    "The member epoch is out of date; the member must retry with the epoch from its latest heartbeat.",
    ""),
  KFK_ERROR(mismatched_endpoint_type, "MISMATCHED_ENDPOINT_TYPE", fatal,
    "The request was sent to the wrong kind of endpoint, such as a controller instead of a broker.",
    "Point -b/--brokers at broker listeners, not at controller listeners."),
  KFK_ERROR(unsupported_endpoint_type, "UNSUPPORTED_ENDPOINT_TYPE", fatal,
    "The requested endpoint type is not supported.",
    ""),
  KFK_ERROR(unknown_controller_id, "UNKNOWN_CONTROLLER_ID", fatal,
    "No controller with this id is known.",
    ""),
  KFK_ERROR(unknown_subscription_id, "UNKNOWN_SUBSCRIPTION_ID", fatal,
    "The client telemetry subscription id is unknown or out of date.",
    ""),
  KFK_ERROR(telemetry_too_large, "TELEMETRY_TOO_LARGE", fatal,
    "The client's telemetry push is larger than the broker accepts.",
    ""),
  KFK_ERROR(invalid_registration, "INVALID_REGISTRATION", fatal,
    "The controller considers the broker's registration invalid.",
    ""),
  KFK_ERROR(transaction_abortable, "TRANSACTION_ABORTABLE", fatal,
    "The transaction ran into an error; aborting it makes the transactional id usable again.",
    "Abort the transaction and start a new one."),
  KFK_ERROR(invalid_record_state, "INVALID_RECORD_STATE", fatal,
    "The record is not in a state that allows the requested acknowledgement.",
    ""),
  KFK_ERROR(share_session_not_found, "SHARE_SESSION_NOT_FOUND", retry,
    "The broker no longer knows the share session the request refers to.",
    ""),
  KFK_ERROR(invalid_share_session_epoch, "INVALID_SHARE_SESSION_EPOCH", retry,
    "The share session epoch in the request is not the one the broker expects.",
    ""),
  KFK_ERROR(fenced_state_epoch, "FENCED_STATE_EPOCH", fatal,
    "The share coordinator refused the request because the share-group state epoch does not match.",
    ""),
  KFK_ERROR(invalid_voter_key, "INVALID_VOTER_KEY", fatal,
    "The voter key does not match the key of the replica that received it.",
    ""),
  KFK_ERROR(duplicate_voter, "DUPLICATE_VOTER", fatal,
    "The voter already belongs to the set of voters.",
    ""),
  KFK_ERROR(voter_not_found, "VOTER_NOT_FOUND", fatal,
    "The voter does not belong to the set of voters.",
    ""),
  KFK_ERROR(invalid_regular_expression, "INVALID_REGULAR_EXPRESSION", fatal,
    "The regular expression in the subscription is not valid.",
    "Fix the subscription pattern; the broker evaluates it with RE2/J syntax."),
  KFK_ERROR(rebootstrap_required, "REBOOTSTRAP_REQUIRED", fatal,
    "The client's metadata is too far out of date; it must bootstrap again from its configured brokers.",
    ""),
  KFK_ERROR(streams_invalid_topology, "STREAMS_INVALID_TOPOLOGY", fatal,
    "The Streams topology sent by the member is not valid.",
    ""),
  KFK_ERROR(streams_invalid_topology_epoch, "STREAMS_INVALID_TOPOLOGY_EPOCH", fatal,
    "The Streams topology epoch sent by the member is not valid.",
    ""),
  KFK_ERROR(streams_topology_fenced, "STREAMS_TOPOLOGY_FENCED", fatal,
    "The Streams topology epoch sent by the member is older than the group's.",
    ""),
  KFK_ERROR(share_session_limit_reached, "SHARE_SESSION_LIMIT_REACHED", retry,
    "The broker already has as many share sessions open as it allows.",
    ""),
};
// clang-format on

#undef KFK_ERROR

constexpr char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Checked at compile time: sorted by code (so find_error can binary-search), codes and names
// unique, each name the enumerator in upper case, and every sentence ends like one.
constexpr bool rows_are_consistent() {
  for (size_t i = 0; i < kRows.size(); ++i) {
    const ErrorInfo& e = kRows[i].info;
    if (i > 0 && kRows[i - 1].info.value() >= e.value()) return false;
    if (!equal_ignoring_case(e.name, kRows[i].enumerator)) return false;
    for (char c : e.name) {
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    if (e.message.empty() || e.message.back() != '.') return false;
    if (!e.hint.empty() && e.hint.back() != '.') return false;
    for (size_t j = 0; j < i; ++j) {
      if (kRows[j].info.name == e.name) return false;
    }
  }
  return true;
}
static_assert(rows_are_consistent(), "error table: order, names or sentences are off");

constexpr auto kErrors = [] {
  std::array<ErrorInfo, kRows.size()> table{};
  for (size_t i = 0; i < kRows.size(); ++i) table[i] = kRows[i].info;
  return table;
}();

constexpr std::string_view kUnknownName = "UNKNOWN_ERROR_CODE";
constexpr std::string_view kUnknownMessage =
    "The broker returned an error code this version of kfk does not know.";
constexpr std::string_view kUnknownHint =
    "Check the broker log; the broker may be newer than this kfk.";
constexpr std::string_view kRetriableHint =
    "This is usually temporary: retry the operation (clients retry it by themselves).";
constexpr std::string_view kFatalHint =
    "Retrying the same request will not help; check the request and the broker log.";

}  // namespace

std::span<const ErrorInfo> all_errors() { return kErrors; }

const ErrorInfo* find_error(int16_t code) {
  const auto* it = std::lower_bound(kErrors.begin(), kErrors.end(), code,
                                    [](const ErrorInfo& e, int16_t c) { return e.value() < c; });
  return (it != kErrors.end() && it->value() == code) ? &*it : nullptr;
}

const ErrorInfo* find_error(ErrorCode code) { return find_error(to_int(code)); }

const ErrorInfo* find_error_by_name(std::string_view name) {
  for (const ErrorInfo& e : kErrors) {
    if (equal_ignoring_case(e.name, name)) return &e;
  }
  return nullptr;
}

std::string_view error_name(int16_t code) {
  const ErrorInfo* e = find_error(code);
  return e ? e->name : kUnknownName;
}

bool is_retriable(int16_t code) {
  const ErrorInfo* e = find_error(code);
  return e && e->retriable;
}

std::string_view error_message(int16_t code) {
  const ErrorInfo* e = find_error(code);
  return e ? e->message : kUnknownMessage;
}

std::string_view error_hint(int16_t code) {
  const ErrorInfo* e = find_error(code);
  if (!e) return kUnknownHint;
  if (!e->hint.empty()) return e->hint;
  return e->retriable ? kRetriableHint : kFatalHint;
}

std::string describe_error(int16_t code) {
  std::string out{error_name(code)};
  out += " (";
  out += std::to_string(code);
  out += "): ";
  out += error_message(code);
  return out;
}

}  // namespace kfk::protocol
