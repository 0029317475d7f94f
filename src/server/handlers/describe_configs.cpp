#include "server/handlers/describe_configs.h"

#include <algorithm>

#include "core/config/broker_config.h"
#include "core/config/topic_config.h"
#include "server/broker.h"
#include "server/cluster/image_apply.h"
#include "server/handlers/broker_logger.h"
#include "server/handlers/config_resources.h"

namespace kfk::server {

using protocol::ErrorCode;

namespace {

using ResourceResult = protocol::DescribeConfigsResponse::DescribeConfigsResult;

void add_entries(const std::vector<config::ConfigEntry>& entries,
                 const std::optional<std::vector<std::string>>& keys, bool synonyms,
                 bool documentation, int16_t version, ResourceResult& out) {
  for (const auto& e : entries) {
    if (keys && std::find(keys->begin(), keys->end(), e.name) == keys->end()) continue;
    auto& c = out.configs.emplace_back();
    c.name = e.name;
    c.value = e.sensitive ? std::nullopt : e.value;
    c.read_only = e.read_only;
    c.config_source = static_cast<int8_t>(e.source);
    c.is_default = e.source == config::ConfigSource::default_config;  // v0 has no source
    c.is_sensitive = e.sensitive;
    if (synonyms) {
      for (const auto& s : e.synonyms) {
        auto& syn = c.synonyms.emplace_back();
        syn.name = s.name;
        syn.value = s.value;
        syn.source = static_cast<int8_t>(s.source);
      }
    }
    if (version >= 3) {
      c.config_type = static_cast<int8_t>(e.type);
      if (documentation && !e.documentation.empty()) c.documentation = e.documentation;
    }
  }
}

}  // namespace

asio::awaitable<void> DescribeConfigsHandler::handle(RequestContext& ctx, const Request& req,
                                                     Response& resp) {
  resp.throttle_time_ms = 0;
  Broker& broker = ctx.broker;
  const auto image = broker.metadata();
  const auto layers = broker_layers(*image, broker.config());
  for (const auto& r : req.resources) {
    auto& out = resp.results.emplace_back();
    out.resource_type = r.resource_type;
    out.resource_name = r.resource_name;
    if (auto check = check_config_resource(broker, r.resource_type, r.resource_name); !check.ok()) {
      out.error_code = static_cast<int16_t>(check.error);
      out.error_message = check.message;
      continue;
    }
    out.error_code = 0;
    std::vector<config::ConfigEntry> entries;
    switch (static_cast<ConfigResourceType>(r.resource_type)) {
      case ConfigResourceType::topic:
        entries =
            config::describe_topic_config(layers, image->find_topic(r.resource_name)->configs);
        break;
      case ConfigResourceType::broker:
        if (r.resource_name.empty()) {
          // The cluster-wide dynamic defaults only.
          for (const auto& e : config::describe_broker_config(layers))
            if (e.source == config::ConfigSource::dynamic_default_broker_config)
              entries.push_back(e);
        } else {
          entries = config::describe_broker_config(layers);
        }
        break;
      default:
        entries = describe_broker_loggers();
        break;
    }
    add_entries(entries, r.configuration_keys, req.include_synonyms, req.include_documentation,
                ctx.version(), out);
  }
  co_return;
}

}  // namespace kfk::server
