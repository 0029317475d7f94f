#include "server/cluster/controller_client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "server/cluster/metadata_loader.h"

namespace kfk::server {

using protocol::ErrorCode;

namespace {

// How long a request waits for its change to be published: publication takes milliseconds
// unless the disk stalls creating or deleting logs.
constexpr std::chrono::seconds kPublicationTimeout{60};

}  // namespace

asio::awaitable<std::optional<PublishOutcome>> ControllerClient::wait_published(
    ControllerResult& result) {
  if (!result.ok() || result.offset < 0) co_return PublishOutcome{};
  auto outcome = co_await loader_.wait_published(
      result.offset, std::chrono::steady_clock::now() + kPublicationTimeout);
  if (!outcome) {
    result.error = ErrorCode::request_timed_out;
    result.message = fmt::format(
        "The change was committed to the metadata log (offset {}) but this broker has not "
        "published it yet; it takes effect when it is.",
        result.offset);
  }
  co_return outcome;
}

asio::awaitable<CreatedTopic> ControllerClient::create_topic(NewTopic topic, bool validate_only) {
  CreatedTopic out = co_await controller_.create_topic(topic, validate_only);
  if (validate_only || !out.result.ok()) co_return out;
  const auto published = co_await wait_published(out.result);
  if (!published) co_return out;
  if (auto it = published->failed_topics.find(topic.name); it != published->failed_topics.end()) {
    // The broker cannot serve the topic without its logs: take the topic back, so that it
    // neither lingers without logs nor blocks a retry with TOPIC_ALREADY_EXISTS.
    const std::string why = it->second;
    ControllerResult undo = co_await controller_.delete_topic(topic.name, out.topic_id);
    if (undo.ok()) {
      const auto removed = co_await wait_published(undo);
      if (!removed) spdlog::warn("the removal of topic {} is not published yet", topic.name);
    } else {
      spdlog::error("topic {} has no logs and could not be removed again: {}", topic.name,
                    undo.message);
    }
    spdlog::error("could not create topic {}: {}", topic.name, why);
    out.result.error = ErrorCode::kafka_storage_error;
    out.result.message =
        fmt::format("The logs of topic {} could not be created: {}", topic.name, why);
    co_return out;
  }
  spdlog::info("created topic {} ({} partitions, id {})", topic.name, out.num_partitions,
               out.topic_id.to_string());
  co_return out;
}

asio::awaitable<ControllerResult> ControllerClient::delete_topic(std::string name) {
  ControllerResult result = co_await controller_.delete_topic(name);
  if (!result.ok()) co_return result;
  const auto published = co_await wait_published(result);
  if (published) spdlog::info("deleted topic {}", name);
  co_return result;
}

asio::awaitable<ControllerResult> ControllerClient::create_partitions(
    std::string name, int32_t total, std::optional<std::vector<std::vector<int32_t>>> assignments,
    bool validate_only) {
  ControllerResult result =
      co_await controller_.create_partitions(name, total, std::move(assignments), validate_only);
  if (validate_only || !result.ok()) co_return result;
  const auto published = co_await wait_published(result);
  if (!published) co_return result;
  if (auto it = published->failed_topics.find(name); it != published->failed_topics.end()) {
    // Partitions cannot be taken back; the broker keeps serving the topic as it was, and the
    // next metadata change creates the missing logs again.
    result.error = ErrorCode::kafka_storage_error;
    result.message = fmt::format(
        "The logs of the new partitions of {} could not be created: {}; the "
        "topic is served with its old partitions until they can be",
        name, it->second);
    co_return result;
  }
  spdlog::info("topic {} now has {} partitions", name, total);
  co_return result;
}

asio::awaitable<ControllerResult> ControllerClient::alter_configs(ConfigResourceType type,
                                                                  std::string resource_name,
                                                                  std::vector<ConfigChange> changes,
                                                                  bool replace,
                                                                  bool validate_only) {
  ControllerResult result = co_await controller_.alter_configs(
      type, std::move(resource_name), std::move(changes), replace, validate_only);
  if (validate_only) co_return result;
  const auto published = co_await wait_published(result);
  if (published && !published->failed_topics.empty())
    spdlog::warn("the logs of {} topics could not be reconciled with the new settings",
                 published->failed_topics.size());
  co_return result;
}

asio::awaitable<ProducerIdResult> ControllerClient::next_producer_id() {
  ProducerIdResult id = co_await controller_.next_producer_id();
  co_return id;
}

}  // namespace kfk::server
