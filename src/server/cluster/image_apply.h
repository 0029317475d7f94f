// Applying metadata log records to an image: the one place where the image changes.
#pragma once

#include <string>

#include "core/config/topic_config.h"
#include "server/cluster/metadata_image.h"
#include "server/cluster/metadata_records.h"

namespace kfk::config {
struct BrokerConfig;
}

namespace kfk::server {

// Applies `record` to `image` (copying the topic states it changes, since published images
// share them). Returns an error message for a record that does not fit the image (a
// partition of an unknown topic); the image is then unchanged.
std::string apply_metadata_record(MetadataImage& image, const MetadataRecord& record);

// The broker-level layers topic settings fall back to on the broker `config` describes: its
// static settings, then its own and the cluster-wide dynamic settings in `image`.
config::BrokerLayers broker_layers(const MetadataImage& image, const config::BrokerConfig& config);

// `a` and `b` hold the same dynamic settings for broker `node_id` (its own and cluster-wide).
bool same_layers(const MetadataImage& a, const MetadataImage& b, int32_t node_id);

}  // namespace kfk::server
