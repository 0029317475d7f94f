#include "server/fetch/fetch_manager.h"

namespace kfk::server {

FetchManager::FetchManager(const config::BrokerConfig& /*config*/) {}
FetchManager::~FetchManager() = default;

}  // namespace kfk::server
