// Kafka's ACL operation codes, and the bit sets reported as "authorized operations" while the
// broker has no authorizer (every operation is allowed).
#pragma once

#include <cstdint>
#include <initializer_list>

namespace kfk::server {

enum class AclOperation : int8_t {
  unknown = 0,
  any = 1,
  all = 2,
  read = 3,
  write = 4,
  create = 5,
  delete_ = 6,
  alter = 7,
  describe = 8,
  cluster_action = 9,
  describe_configs = 10,
  alter_configs = 11,
  idempotent_write = 12,
  create_tokens = 13,
  describe_tokens = 14,
};

constexpr int32_t operation_bits(std::initializer_list<AclOperation> ops) {
  int32_t bits = 0;
  for (auto op : ops) bits |= int32_t{1} << static_cast<int>(op);
  return bits;
}

inline constexpr int32_t kTopicOperations =
    operation_bits({AclOperation::read, AclOperation::write, AclOperation::create,
                    AclOperation::delete_, AclOperation::alter, AclOperation::describe,
                    AclOperation::describe_configs, AclOperation::alter_configs});

inline constexpr int32_t kClusterOperations = operation_bits(
    {AclOperation::create, AclOperation::alter, AclOperation::describe,
     AclOperation::cluster_action, AclOperation::describe_configs, AclOperation::alter_configs,
     AclOperation::idempotent_write, AclOperation::create_tokens, AclOperation::describe_tokens});

inline constexpr int32_t kGroupOperations =
    operation_bits({AclOperation::read, AclOperation::delete_, AclOperation::describe});

}  // namespace kfk::server
