"""Helpers the integration tests share: waiting on conditions, free ports, topic creation."""

import socket
import time


def wait_for(predicate, timeout=20.0, what="condition", interval=0.02):
    """Polls predicate until it returns something truthy, which is returned; fails the test
    naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_topic(bootstrap, name, partitions=1, config=None):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": bootstrap})
    fs = a.create_topics([NewTopic(name, partitions, 1, config=config or {})], operation_timeout=10)
    err = fs[name].exception(timeout=20)
    assert err is None, f"creating {name}: {err}"
