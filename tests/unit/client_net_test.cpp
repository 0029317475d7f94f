// The network layer: request/response framing, version negotiation, and Connection against a
// scripted in-process peer (good, silent, lying and malformed brokers).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include "core/net/connection.h"
#include "core/net/framing.h"
#include "core/protocol/messages/api_versions.h"
#include "core/protocol/reader.h"
#include "core/protocol/writer.h"

using namespace kfk::net;
using kfk::protocol::Bytes;

namespace {

// A one-connection peer on 127.0.0.1 running `script` on the accepted socket.
class FakePeer {
 public:
  explicit FakePeer(std::function<void(int)> script) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, script = std::move(script)] {
      const int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      script(conn);
      ::close(conn);
    });
  }
  ~FakePeer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

bool read_exact(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

struct Request {
  int16_t key = -1;
  int16_t version = -1;
  int32_t correlation = 0;
};

std::optional<Request> read_request(int fd) {
  uint8_t size_buf[4];
  if (!read_exact(fd, size_buf, 4)) return std::nullopt;
  kfk::protocol::Reader size_reader(size_buf, 4);
  Bytes frame(static_cast<size_t>(size_reader.read_int32("size")));
  if (!read_exact(fd, frame.data(), frame.size())) return std::nullopt;
  kfk::protocol::Reader r(frame);
  Request req;
  req.key = r.read_int16("key");
  req.version = r.read_int16("version");
  req.correlation = r.read_int32("correlation");
  return req;
}

void write_frame(int fd, int32_t correlation, const Bytes& body) {
  kfk::protocol::Writer w;
  w.write_int32(static_cast<int32_t>(4 + body.size()));
  w.write_int32(correlation);
  w.write_raw(body);
  const Bytes& out = w.bytes();
  CHECK(::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size()));
}

Bytes api_versions_body(int16_t version, int16_t error,
                        std::vector<kfk::protocol::ApiVersionsResponse::ApiVersion> apis) {
  kfk::protocol::ApiVersionsResponse resp;
  resp.error_code = error;
  resp.api_keys = std::move(apis);
  kfk::protocol::Writer w;
  resp.encode(w, version);
  return w.take();
}

const std::vector<kfk::protocol::ApiVersionsResponse::ApiVersion> kBrokerApis = {
    {18, 0, 4, {}}, {3, 0, 20, {}}, {19, 2, 3, {}}};

ConnectOptions quick() {
  ConnectOptions o;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.request_timeout = std::chrono::milliseconds(300);
  return o;
}

}  // namespace

TEST_CASE("client net: request header versions follow the API version") {
  // ApiVersions v3 is flexible: header v2 (client id, then an empty tagged-field section).
  Bytes prefix = encode_request_prefix(18, 3, 7, "kfk", 5);
  // size (14 header bytes + 5 body bytes), key, version, correlation id, client id, tags
  const Bytes expected = {0, 0, 0, 19, 0, 18, 0, 3, 0, 0, 0, 7, 0, 3, 'k', 'f', 'k', 0};
  CHECK(prefix == expected);
  // Metadata v1 is not: header v1, no tagged fields.
  prefix = encode_request_prefix(3, 1, 9, "", 0);
  CHECK(prefix == Bytes{0, 0, 0, 10, 0, 3, 0, 1, 0, 0, 0, 9, 0, 0});
}

TEST_CASE("client net: response headers by API version") {
  std::string error;
  // ApiVersions answers always use header v0, even at a flexible version.
  const Bytes v0 = {0, 0, 0, 5, 0xAA};
  auto h = decode_response_header(v0, 18, 3, error);
  REQUIRE(h);
  CHECK(h->correlation_id == 5);
  CHECK(h->header_size == 4);
  // Metadata v9 is flexible: header v1 carries tagged fields.
  const Bytes v1 = {0, 0, 1, 0, 0, 0xBB};
  h = decode_response_header(v1, 3, 9, error);
  REQUIRE(h);
  CHECK(h->correlation_id == 256);
  CHECK(h->header_size == 5);
  // Truncated.
  CHECK_FALSE(decode_response_header(Bytes{0, 0, 1}, 3, 1, error));
  CHECK_FALSE(error.empty());
}

TEST_CASE("client net: negotiation picks the highest common version") {
  const std::vector<ApiVersionRange> broker = {{3, 0, 20}, {0, 0, 2}, {19, 2, 5}, {1, 13, 99}};
  CHECK(negotiate_version(3, broker) == 12);  // our latest Metadata
  CHECK(negotiate_version(19, broker) == 5);  // the broker's latest CreateTopics
  CHECK(negotiate_version(0, broker) == -1);  // Produce 0-2: below the client's minimum of 3
  // The definitions reach down to version 0 for old clients of the broker; the client itself
  // keeps Kafka 4.0's minimums.
  const std::vector<ApiVersionRange> old_broker = {{1, 0, 3}, {11, 0, 1}, {9, 0, 1}, {8, 0, 2}};
  CHECK(negotiate_version(1, old_broker) == -1);
  CHECK(negotiate_version(11, old_broker) == -1);
  CHECK(negotiate_version(9, old_broker) == 1);
  CHECK(negotiate_version(8, old_broker) == 2);
  CHECK(negotiate_version(20, broker) == -1);  // not offered
  CHECK(negotiate_version(1, broker) >= 13);
  CHECK(negotiate_version(9999, broker) == -1);
  CHECK(api_name(19) == "CreateTopics");
}

TEST_CASE("client net: connection refused names host:port") {
  uint16_t port = 0;
  {
    FakePeer peer([](int) {});
    port = peer.port();
    // The peer accepts once and closes; after the destructor nothing listens on the port.
  }
  IoContext io;
  try {
    Connection::open(io, "127.0.0.1", port, quick());
    FAIL("connected to a closed port");
  } catch (const NetError& e) {
    CHECK(e.kind() == NetErrorKind::connect);
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  }
}

TEST_CASE("client net: negotiates versions with a well-behaved peer") {
  FakePeer peer([](int fd) {
    auto req = read_request(fd);
    REQUIRE(req);
    CHECK(req->key == 18);
    CHECK(req->version == 4);
    write_frame(fd, req->correlation, api_versions_body(req->version, 0, kBrokerApis));
    // One Metadata request: answer with an empty flexible body would need a real message;
    // the test only checks the correlation path with a raw body.
    auto meta = read_request(fd);
    REQUIRE(meta);
    write_frame(fd, meta->correlation, Bytes{0, 1, 2});
  });
  IoContext io;
  auto conn = Connection::open(io, "127.0.0.1", peer.port(), quick());
  CHECK(conn->version(3) == 12);
  CHECK(conn->version(19) == 3);
  CHECK(conn->version(0) == -1);
  CHECK_THROWS_AS(conn->require_version(0), NetError);
  // Metadata v0 uses response header v0.
  const int32_t id = conn->send(3, 0, Bytes{0, 0, 0, 0});
  CHECK(conn->wait(id) == Bytes{0, 1, 2});
}

TEST_CASE("client net: retries ApiVersions at the version an older peer knows") {
  FakePeer peer([](int fd) {
    auto first = read_request(fd);
    REQUIRE(first);
    // An old broker: answers UNSUPPORTED_VERSION in v0 with its range for ApiVersions.
    write_frame(fd, first->correlation, api_versions_body(0, 35, {{18, 0, 2, {}}}));
    auto second = read_request(fd);
    REQUIRE(second);
    CHECK(second->version == 2);
    write_frame(fd, second->correlation, api_versions_body(2, 0, {{18, 0, 2, {}}, {3, 0, 8, {}}}));
  });
  IoContext io;
  auto conn = Connection::open(io, "127.0.0.1", peer.port(), quick());
  CHECK(conn->version(18) == 2);
  CHECK(conn->version(3) == 8);
}

TEST_CASE("client net: malformed and lying peers are errors, not crashes") {
  SUBCASE("garbage ApiVersions body") {
    FakePeer peer([](int fd) {
      auto req = read_request(fd);
      if (req) write_frame(fd, req->correlation, Bytes{0, 0, 0xff, 0xff, 0xff});
      read_request(fd);  // until the client hangs up
    });
    IoContext io;
    try {
      Connection::open(io, "127.0.0.1", peer.port(), quick());
      FAIL("accepted a malformed response");
    } catch (const NetError& e) {
      CHECK(e.kind() == NetErrorKind::protocol);
      CHECK(std::string(e.what()).find("ApiVersions") != std::string::npos);
    }
  }
  SUBCASE("unknown correlation id") {
    FakePeer peer([](int fd) {
      auto req = read_request(fd);
      if (req) write_frame(fd, req->correlation + 1000, api_versions_body(3, 0, kBrokerApis));
      read_request(fd);
    });
    IoContext io;
    try {
      Connection::open(io, "127.0.0.1", peer.port(), quick());
      FAIL("accepted a response to no request");
    } catch (const NetError& e) {
      CHECK(e.kind() == NetErrorKind::protocol);
    }
  }
  SUBCASE("absurd frame size") {
    FakePeer peer([](int fd) {
      auto req = read_request(fd);
      const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1};
      if (req) CHECK(::write(fd, huge, sizeof huge) == sizeof huge);
      read_request(fd);
    });
    IoContext io;
    CHECK_THROWS_AS(Connection::open(io, "127.0.0.1", peer.port(), quick()), NetError);
  }
  SUBCASE("peer closes mid-response") {
    FakePeer peer([](int fd) {
      auto req = read_request(fd);
      const uint8_t partial[] = {0, 0, 0, 50, 0, 0};
      if (req) CHECK(::write(fd, partial, sizeof partial) == sizeof partial);
    });
    IoContext io;
    try {
      Connection::open(io, "127.0.0.1", peer.port(), quick());
      FAIL("accepted a truncated response");
    } catch (const NetError& e) {
      CHECK(e.kind() == NetErrorKind::closed);
    }
  }
  SUBCASE("silent peer times out") {
    FakePeer peer([](int fd) {
      read_request(fd);
      read_request(fd);  // waits until the client gives up and closes
    });
    IoContext io;
    try {
      Connection::open(io, "127.0.0.1", peer.port(), quick());
      FAIL("no timeout");
    } catch (const NetError& e) {
      CHECK(e.kind() == NetErrorKind::timeout);
      CHECK(std::string(e.what()).find("timed out") != std::string::npos);
    }
  }
}
