// Finding the broker that coordinates a group (FindCoordinator, key type 0) and running
// requests against it, with the retries every group request needs: a lookup again after
// NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE, a wait after COORDINATOR_LOAD_IN_PROGRESS, a
// new connection after a lost one, all until the client's api timeout.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace kfk::net {
class Connection;
}

namespace kfk::client {

class Client;

// FindCoordinator for `group`: the coordinator's node id. Retries retriable errors until the
// api timeout; throws ClientError(kafka) for the others (GROUP_AUTHORIZATION_FAILED, ...).
int32_t find_coordinator(Client& client, const std::string& group);

// The error codes that mean "ask again who the coordinator is".
bool is_coordinator_error(int16_t code);

// Runs `attempt` on the dedicated coordinator connection of `group`. `attempt` returns the
// request's group-level error code: a coordinator error (or a lost connection) repeats it
// after a new lookup, COORDINATOR_LOAD_IN_PROGRESS after a backoff; any other code is
// returned to the caller, as is 0.
int16_t with_coordinator(Client& client, const std::string& group,
                         const std::function<int16_t(net::Connection&)>& attempt);

}  // namespace kfk::client
