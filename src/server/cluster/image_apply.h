// Applying metadata log records to an image: the one place where the image changes.
#pragma once

#include <string>

#include "server/cluster/metadata_image.h"
#include "server/cluster/metadata_records.h"

namespace kfk::server {

// Applies `record` to `image` (copying the topic states it changes, since published images
// share them). Returns an error message for a record that does not fit the image (a
// partition of an unknown topic); the image is then unchanged.
std::string apply_metadata_record(MetadataImage& image, const MetadataRecord& record);

}  // namespace kfk::server
