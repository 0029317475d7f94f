"""Idempotence of `kfk produce` (on by default): when the answer to a Produce request is lost
after the broker wrote the batch, the retry is recognised by its producer id and sequence and
not written again. A proxy between client and broker (the broker advertises the proxy, so
every connection goes through it) closes the connection instead of passing on the first
Produce responses. Without idempotence the same loss writes duplicates, which shows the test
can fail."""

import socket
import struct
import subprocess
import threading
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

import support
from conftest import KFK

PRODUCE = 0


class DroppingProxy:
    """Forwards Kafka connections to `target`; the first `drops` Produce responses are not
    passed on: the client's connection is closed instead."""

    def __init__(self, port, target_port, drops):
        self.target_port = target_port
        self.drops = drops
        self.dropped = 0
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        self.server.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            api_keys = {}
            threading.Thread(target=self._requests, args=(client, upstream, api_keys),
                             daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client, api_keys),
                             daemon=True).start()

    @staticmethod
    def _frame(sock):
        def exact(n):
            data = b""
            while len(data) < n:
                chunk = sock.recv(n - len(data))
                if not chunk:
                    return None
                data += chunk
            return data

        head = exact(4)
        if head is None:
            return None
        body = exact(struct.unpack(">i", head)[0])
        return None if body is None else head + body

    @staticmethod
    def _close(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _requests(self, client, upstream, api_keys):
        try:
            while (frame := self._frame(client)) is not None:
                api_key, _, correlation = struct.unpack(">hhi", frame[4:12])
                api_keys[correlation] = api_key
                upstream.sendall(frame)
        except OSError:
            pass
        self._close(client, upstream)

    def _responses(self, upstream, client, api_keys):
        try:
            while (frame := self._frame(upstream)) is not None:
                correlation = struct.unpack(">i", frame[4:8])[0]
                if api_keys.get(correlation) == PRODUCE:
                    with self.lock:
                        drop = self.dropped < self.drops
                        if drop:
                            self.dropped += 1
                    if drop:
                        break  # the broker wrote the batch; the client never hears of it
                client.sendall(frame)
        except OSError:
            pass
        self._close(client, upstream)


@pytest.fixture
def proxied(make_broker):
    """A broker behind a DroppingProxy (dropping nothing until told): (broker, proxy, the
    proxy's address)."""
    port = support.free_port()
    b = make_broker("--set", f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}").start()
    proxy = DroppingProxy(port, b.port, drops=0)
    yield b, proxy, f"127.0.0.1:{port}"
    proxy.close()


def values(bootstrap, topic, partitions, wait_for, timeout=20.0):
    """Every value in the topic once `wait_for` are read, and whatever came in 0.5 s after."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < wait_for and time.monotonic() < deadline:
            out += [m.value() for m in c.consume(1000, 0.2) if m.error() is None]
        out += [m.value() for m in c.consume(1000, 0.5) if m.error() is None]
    finally:
        c.close()
    return out


def produce(bootstrap, topic, lines, *extra):
    return subprocess.run([KFK, "-b", bootstrap, "-X", "retry.backoff.ms=50", "produce", topic,
                           "--print-offsets", *extra],
                          input="".join(line + "\n" for line in lines).encode(),
                          capture_output=True, timeout=60)


def test_lost_answers_are_retried_without_duplicates(proxied):
    broker, proxy, bootstrap = proxied
    support.create_topic(broker.bootstrap, "once", 2)
    proxy.drops = 2
    lines = [f"k{i}:v{i}" for i in range(200)]
    r = produce(bootstrap, "once", lines, "-K", ":", "--batch-bytes", "512")
    assert r.returncode == 0, r.stderr
    assert proxy.dropped == 2
    got = values(broker.bootstrap, "once", 2, len(lines))
    assert sorted(got) == sorted(f"v{i}".encode() for i in range(200))  # each exactly once
    # Every record got its offset, the original one for the retried batches.
    offsets = [line.split() for line in r.stdout.decode().splitlines()]
    assert len(offsets) == 200
    assert len({(p, o) for _, p, o in offsets}) == 200


def test_without_idempotence_the_same_loss_duplicates(proxied):
    broker, proxy, bootstrap = proxied
    support.create_topic(broker.bootstrap, "twice", 1)
    proxy.drops = 1
    r = produce(bootstrap, "twice", ["only"], "-X", "enable.idempotence=false")
    assert r.returncode == 0, r.stderr
    assert proxy.dropped == 1
    assert values(broker.bootstrap, "twice", 1, 2) == [b"only", b"only"]

    # acks=1 turns idempotence off too (as in the Java client, when not asked for).
    support.create_topic(broker.bootstrap, "acks1", 1)
    proxy.drops += 1
    r = produce(bootstrap, "acks1", ["one"], "--acks", "1")
    assert r.returncode == 0, r.stderr
    assert values(broker.bootstrap, "acks1", 1, 2) == [b"one", b"one"]
