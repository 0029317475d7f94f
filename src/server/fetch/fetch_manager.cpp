#include "server/fetch/fetch_manager.h"

#include "core/config/broker_config.h"

namespace kfk::server {

FetchManager::FetchManager(const config::BrokerConfig& config)
    : sessions_(static_cast<size_t>(config.max_incremental_fetch_session_cache_slots),
                config.min_incremental_fetch_session_eviction_ms) {}
FetchManager::~FetchManager() = default;

}  // namespace kfk::server
