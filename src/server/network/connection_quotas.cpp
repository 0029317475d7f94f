#include "server/network/connection_quotas.h"

#include <utility>

namespace kfk::server {

int32_t ConnectionQuotas::limit_for(const std::string& address) const {
  std::lock_guard lock(mu_);
  return limit_for_locked(address);
}

int32_t ConnectionQuotas::limit_for_locked(const std::string& address) const {
  auto it = config_.per_ip_overrides.find(address);
  return it == config_.per_ip_overrides.end() ? config_.max_connections_per_ip : it->second;
}

ConnectionQuotas::Verdict ConnectionQuotas::try_add(const std::string& address,
                                                    const std::string& listener) {
  std::lock_guard lock(mu_);
  if (total_ >= static_cast<size_t>(std::max(config_.max_connections, 0)))
    return Verdict::too_many_connections;
  auto on_listener = per_listener_.find(listener);
  if (auto limit = config_.per_listener.find(listener); limit != config_.per_listener.end()) {
    const int32_t open = on_listener == per_listener_.end() ? 0 : on_listener->second;
    if (open >= limit->second) return Verdict::too_many_on_listener;
  }
  const int32_t per_address_limit = limit_for_locked(address);
  auto it = per_address_.find(address);
  const int32_t open = it == per_address_.end() ? 0 : it->second;
  if (open >= per_address_limit) return Verdict::too_many_from_address;
  ++total_;
  if (it == per_address_.end())
    per_address_.emplace(address, 1);
  else
    ++it->second;
  if (on_listener == per_listener_.end())
    per_listener_.emplace(listener, 1);
  else
    ++on_listener->second;
  return Verdict::accepted;
}

void ConnectionQuotas::update(ConnectionQuotaConfig config) {
  std::lock_guard lock(mu_);
  config_ = std::move(config);
}

int32_t ConnectionQuotas::max_connections() const {
  std::lock_guard lock(mu_);
  return config_.max_connections;
}

void ConnectionQuotas::remove(const std::string& address, const std::string& listener) {
  std::lock_guard lock(mu_);
  auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  if (--it->second <= 0) per_address_.erase(it);
  if (auto l = per_listener_.find(listener); l != per_listener_.end() && --l->second <= 0)
    per_listener_.erase(l);
  --total_;
}

int32_t ConnectionQuotas::listener_limit(const std::string& listener) const {
  std::lock_guard lock(mu_);
  auto it = config_.per_listener.find(listener);
  return it == config_.per_listener.end() ? INT32_MAX : it->second;
}

size_t ConnectionQuotas::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

size_t ConnectionQuotas::from(const std::string& address) const {
  std::lock_guard lock(mu_);
  auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : static_cast<size_t>(it->second);
}

}  // namespace kfk::server
