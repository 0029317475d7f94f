#include "server/cluster/image_apply.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/config/broker_config.h"

namespace kfk::server {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string find_name(const MetadataImage& image, const protocol::Uuid& id) {
  for (const auto& [name, topic] : image.topics)
    if (topic->id == id) return name;
  return {};
}

// A private copy of the topic, put back into the image in place of the shared one. A topic
// only this image holds (created or copied by an earlier record of the same batch) is changed
// in place: the records of a topic's 1,000 partitions then copy it once, not 1,000 times.
TopicState& mutable_topic(MetadataImage& image, const std::string& name) {
  std::shared_ptr<const TopicState>& held = image.topics.at(name);
  // Every TopicState is made non-const (make_shared below and in the topic record).
  if (held.use_count() == 1) return const_cast<TopicState&>(*held);
  auto copy = std::make_shared<TopicState>(*held);
  TopicState& ref = *copy;
  image.topics[name] = std::move(copy);
  return ref;
}

}  // namespace

std::string apply_metadata_record(MetadataImage& image, const MetadataRecord& record) {
  return std::visit(
      Overloaded{
          [&](const protocol::MetadataTopicRecord& r) -> std::string {
            auto topic = std::make_shared<TopicState>();
            topic->name = r.name;
            topic->id = r.topic_id;
            topic->internal = r.name == "__consumer_offsets" || r.name == "__transaction_state";
            image.topics[r.name] = std::move(topic);
            return {};
          },
          [&](const protocol::MetadataPartitionRecord& r) -> std::string {
            const std::string name = find_name(image, r.topic_id);
            if (name.empty())
              return fmt::format("partition {} of unknown topic id {}", r.partition_id,
                                 r.topic_id.to_string());
            TopicState& topic = mutable_topic(image, name);
            PartitionState p;
            p.partition = r.partition_id;
            p.leader = r.leader;
            p.leader_epoch = r.leader_epoch;
            p.replicas = r.replicas;
            p.isr = r.isr;
            auto it =
                std::find_if(topic.partitions.begin(), topic.partitions.end(),
                             [&](const PartitionState& e) { return e.partition >= p.partition; });
            if (it != topic.partitions.end() && it->partition == p.partition)
              *it = std::move(p);
            else
              topic.partitions.insert(it, std::move(p));
            return {};
          },
          [&](const protocol::MetadataPartitionChangeRecord& r) -> std::string {
            const std::string name = find_name(image, r.topic_id);
            if (name.empty())
              return fmt::format("change of unknown topic id {}", r.topic_id.to_string());
            TopicState& topic = mutable_topic(image, name);
            for (auto& p : topic.partitions) {
              if (p.partition != r.partition_id) continue;
              if (r.leader != -2) p.leader = r.leader;
              if (r.leader_epoch >= 0) p.leader_epoch = r.leader_epoch;
              return {};
            }
            return fmt::format("change of unknown partition {}-{}", name, r.partition_id);
          },
          [&](const protocol::MetadataConfigRecord& r) -> std::string {
            std::map<std::string, std::string>* target = nullptr;
            switch (static_cast<ConfigResourceType>(r.resource_type)) {
              case ConfigResourceType::topic:
                if (!image.topics.contains(r.resource_name))
                  return fmt::format("config of unknown topic {}", r.resource_name);
                target = &mutable_topic(image, r.resource_name).configs;
                break;
              case ConfigResourceType::broker:
                if (r.resource_name.empty()) {
                  target = &image.cluster_configs;
                } else {
                  int32_t id = 0;
                  auto [ptr, ec] = std::from_chars(
                      r.resource_name.data(), r.resource_name.data() + r.resource_name.size(), id);
                  if (ec != std::errc{} || ptr != r.resource_name.data() + r.resource_name.size())
                    return fmt::format("config of broker '{}'", r.resource_name);
                  target = &image.broker_configs[id];
                }
                break;
              default:
                return fmt::format("config of resource type {}", r.resource_type);
            }
            if (r.value)
              (*target)[r.name] = *r.value;
            else
              target->erase(r.name);
            // A broker left without settings has no entry, as a snapshot rebuilds it.
            for (auto it = image.broker_configs.begin(); it != image.broker_configs.end();)
              it = it->second.empty() ? image.broker_configs.erase(it) : std::next(it);
            return {};
          },
          [&](const protocol::MetadataRemoveTopicRecord& r) -> std::string {
            const std::string name = find_name(image, r.topic_id);
            if (name.empty())
              return fmt::format("removal of unknown topic id {}", r.topic_id.to_string());
            image.topics.erase(name);
            return {};
          },
          [&](const protocol::MetadataProducerIdsRecord& r) -> std::string {
            image.next_producer_id = std::max(image.next_producer_id, r.next_producer_id);
            return {};
          },
          [&](const protocol::MetadataRegisterBrokerRecord&) -> std::string { return {}; },
      },
      record);
}

config::BrokerLayers broker_layers(const MetadataImage& image, const config::BrokerConfig& config) {
  config::BrokerLayers layers;
  layers.static_config = &config.values;
  if (auto it = image.broker_configs.find(config.node_id); it != image.broker_configs.end())
    layers.dynamic_broker = it->second;
  layers.dynamic_default = image.cluster_configs;
  return layers;
}

bool same_layers(const MetadataImage& a, const MetadataImage& b, int32_t node_id) {
  auto broker = [&](const MetadataImage& i) {
    auto it = i.broker_configs.find(node_id);
    return it == i.broker_configs.end() ? std::map<std::string, std::string>{} : it->second;
  };
  return a.cluster_configs == b.cluster_configs && broker(a) == broker(b);
}

}  // namespace kfk::server
