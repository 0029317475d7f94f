// Whether a session may make a request: the authorize step every request passes before its
// handler. The broker allows everything until ACLs are enforced; an authorizer that checks
// them (principal, operation, resource, as Kafka's StandardAuthorizer does) replaces
// AllowAllAuthorizer without touching the handlers.
#pragma once

#include <cstdint>

#include "server/network/session.h"

namespace kfk::server {

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // May `session` call the API with this key at all?
  virtual bool may_call(const Session& session, int16_t api_key) const = 0;
};

class AllowAllAuthorizer final : public Authorizer {
 public:
  bool may_call(const Session&, int16_t) const override { return true; }
};

}  // namespace kfk::server
