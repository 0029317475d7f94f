"""What an unauthenticated client cannot make the broker hold: memory for announced request
sizes, connections beyond max.connections / max.connections.per.ip (and overrides), idle and
trickling connections, and log lines."""

import socket
import struct
import subprocess
import time

from conftest import KFK
from kafka_wire import Wire, i16, i32, string
from support import wait_for


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def api_versions_frame(correlation=1):
    header = i16(18) + i16(0) + i32(correlation) + string("limits")
    return i32(len(header)) + header


def answers(sock, correlation=1, timeout=10.0):
    """Sends ApiVersions v0 and reads the answer; False when the broker closed the socket."""
    sock.settimeout(timeout)
    try:
        sock.sendall(api_versions_frame(correlation))
        head = sock.recv(4)
        if len(head) < 4:
            return False
        size = struct.unpack(">i", head)[0]
        got = 0
        while got < size:
            chunk = sock.recv(size - got)
            if not chunk:
                return False
            got += len(chunk)
        return True
    except (ConnectionError, OSError):
        return False


def closed_by_broker(sock, timeout=0.05):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except (ConnectionError, OSError):
        return True


def kcat_ok(bootstrap):
    out = subprocess.run(["kcat", "-b", bootstrap, "-L", "-m", "10"], capture_output=True,
                         text=True, timeout=30)
    return out.returncode == 0


def test_announced_request_sizes_cost_no_memory(make_broker):
    # Without the memory pool, so that each connection's buffer is what is measured.
    b = make_broker("--set", "queued.max.request.bytes=-1").start()
    socks = []
    try:
        assert kcat_ok(b.bootstrap)
        before = rss_kb(b.proc.pid)
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", b.port), timeout=10)
            s.sendall(struct.pack(">i", 100 * 1000 * 1000) + b"\x00\x03\x00\x09")
            socks.append(s)
        # The broker has read the prefixes (it would answer a new client meanwhile).
        assert kcat_ok(b.bootstrap)
        time.sleep(0.5)
        grown_mb = (rss_kb(b.proc.pid) - before) / 1024
        assert grown_mb < 50, f"the broker grew by {grown_mb:.0f} MB for 40 bytes"
    finally:
        for s in socks:
            s.close()


def test_memory_pool_pauses_large_requests_not_small_ones(make_broker):
    # One client announcing a request as large as the pool holds all of it; small requests
    # (Metadata, ApiVersions) are still served, and the big one still completes.
    b = make_broker("--set", "queued.max.request.bytes=1000000").start()
    with socket.create_connection(("127.0.0.1", b.port), timeout=10) as hog:
        hog.sendall(struct.pack(">i", 900000) + b"\x00\x12")
        assert kcat_ok(b.bootstrap)
        with socket.create_connection(("127.0.0.1", b.port), timeout=10) as s:
            assert answers(s)


def test_max_connections_closes_connections_beyond_it(make_broker):
    b = make_broker("--set", "max.connections=20").start()
    socks = [socket.create_connection(("127.0.0.1", b.port), timeout=10) for _ in range(40)]
    try:
        wait_for(lambda: sum(closed_by_broker(s) for s in socks) >= 20, timeout=20,
                 what="20 connections closed by the broker")
        open_ones = [s for s in socks if not closed_by_broker(s)]
        assert len(open_ones) == 20
        assert all(answers(s, i) for i, s in enumerate(open_ones, 1))
    finally:
        for s in socks:
            s.close()
    # Once they close, new connections are accepted again.
    wait_for(lambda: kcat_ok(b.bootstrap), timeout=20, what="a new connection served")
    log = open(b.log_path).read()
    assert "max.connections (20)" in log


def test_max_connections_per_ip_and_overrides(make_broker):
    b = make_broker("--set", "max.connections.per.ip=5").start()
    socks = [socket.create_connection(("127.0.0.1", b.port), timeout=10) for _ in range(12)]
    try:
        wait_for(lambda: sum(closed_by_broker(s) for s in socks) >= 7, timeout=20,
                 what="7 connections closed")
        assert sum(answers(s, 1) for s in socks) == 5
    finally:
        for s in socks:
            s.close()
    assert b.stop() == 0

    b = make_broker("--set", "max.connections.per.ip=5",
                    "--set", "max.connections.per.ip.overrides=127.0.0.1:8,other.invalid:2").start()
    socks = [socket.create_connection(("127.0.0.1", b.port), timeout=10) for _ in range(12)]
    try:
        wait_for(lambda: sum(closed_by_broker(s) for s in socks) >= 4, timeout=20,
                 what="4 connections closed")
        assert sum(answers(s, 1) for s in socks) == 8
    finally:
        for s in socks:
            s.close()


def open_and_count_served(b, n):
    """Opens n connections; returns how many the broker serves (the others it closes)."""
    socks = [socket.create_connection(("127.0.0.1", b.port), timeout=10) for _ in range(n)]
    try:
        return sum(answers(s, 1) for s in socks)
    finally:
        for s in socks:
            s.close()


def kfk_ok(b, *args):
    r = subprocess.run([KFK, "-b", b.bootstrap, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r


def test_connection_limits_change_dynamically_and_survive_restart(make_broker):
    b = make_broker().start()
    assert open_and_count_served(b, 6) == 6
    # Cluster-wide, as Kafka's `kafka-configs --entity-default`: the next connections count.
    kfk_ok(b, "broker", "config", "set", "max.connections.per.ip=3")
    wait_for(lambda: open_and_count_served(b, 6) == 3, timeout=20, what="the new per-address limit")
    kfk_ok(b, "broker", "config", "set", "max.connections.per.ip.overrides=127.0.0.1:4")
    wait_for(lambda: open_and_count_served(b, 6) == 4, timeout=20, what="the override")
    # The dynamic settings are in the metadata log: a restart keeps them.
    b.stop()
    b.start()
    assert open_and_count_served(b, 6) == 4
    kfk_ok(b, "broker", "config", "delete", "max.connections.per.ip.overrides")
    kfk_ok(b, "broker", "config", "delete", "max.connections.per.ip")
    wait_for(lambda: open_and_count_served(b, 6) == 6, timeout=20, what="the limits removed")


def test_listener_max_connections_static_and_dynamic(make_broker):
    b = make_broker("--set", "listener.name.plaintext.max.connections=3",
                    "--set", "listener.name.plaintext.ssl.keystore.location=/nonexistent").start()
    assert open_and_count_served(b, 6) == 3
    kfk_ok(b, "broker", "config", "set", "listener.name.plaintext.max.connections=5")
    wait_for(lambda: open_and_count_served(b, 6) == 5, timeout=20, what="the listener's new limit")
    b.stop()
    log = open(b.log_path).read()
    assert "the listener has its listener.name.plaintext.max.connections (3) open" in log
    assert "listener PLAINTEXT: ssl.keystore.location accepted for compatibility" in log


def test_idle_and_trickling_connections_are_closed(make_broker):
    b = make_broker("--set", "connections.max.idle.ms=1500").start()
    idle = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    busy = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    slow = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    frame = api_versions_frame(7)
    t0 = time.monotonic()
    sent = 0
    slow_closed_at = None
    idle_closed_at = None
    correlation = 1
    try:
        while time.monotonic() - t0 < 4.0:
            # A request every 300 ms keeps a connection open.
            assert answers(busy, correlation), "a connection with requests was closed"
            correlation += 1
            # One byte every 300 ms: never idle, but the request never arrives whole.
            if slow_closed_at is None:
                try:
                    slow.sendall(frame[sent % len(frame):sent % len(frame) + 1])
                    sent += 1
                except OSError:
                    pass
                if closed_by_broker(slow):
                    slow_closed_at = time.monotonic() - t0
            if idle_closed_at is None and closed_by_broker(idle):
                idle_closed_at = time.monotonic() - t0
            time.sleep(0.3)
        assert idle_closed_at is not None and 1.0 < idle_closed_at < 3.5, idle_closed_at
        assert slow_closed_at is not None and 1.0 < slow_closed_at < 3.5, slow_closed_at
    finally:
        for s in (idle, busy, slow):
            s.close()


def test_a_flood_of_bad_requests_writes_few_log_lines(make_broker):
    b = make_broker().start()
    t0 = time.monotonic()
    for _ in range(1500):
        with socket.create_connection(("127.0.0.1", b.port), timeout=10) as s:
            header = i16(9999) + i16(0) + i32(1) + string("flood")
            s.sendall(i32(len(header)) + header)
            s.settimeout(10)
            assert s.recv(1) == b""  # closed for the unsupported api key
    elapsed = time.monotonic() - t0
    assert kcat_ok(b.bootstrap)
    lines = [l for l in open(b.log_path) if "unsupported api key" in l]
    # 5 lines per client address and 10 s.
    allowed = 5 * (int(elapsed // 10) + 1)
    assert 1 <= len(lines) <= allowed, f"{len(lines)} lines for 1500 refused requests"
