"""Helpers the integration tests share: waiting on conditions, free ports, topic creation."""

import socket
import threading
import time
import warnings


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


def close_consumer(c, timeout=10.0):
    """Closes a confluent-kafka consumer that may have seen one of its topics deleted.
    librdkafka 2.0 (Debian 12) can block for ever in close() when a partition it was fetching
    belongs to a topic just deleted (a broker thread keeps a reference to the partition;
    librdkafka issue 4362). The consumer first leaves its assignment, then closes in a
    background thread; a close that has not returned after `timeout` is reported as a warning
    and left behind, so that client bug cannot hang the suite."""
    c.unsubscribe()
    deadline = time.monotonic() + timeout
    while c.assignment() and time.monotonic() < deadline:
        c.poll(0.1)
    closed = threading.Event()

    def close():
        c.close()
        closed.set()

    threading.Thread(target=close, daemon=True, name="consumer-close").start()
    if not closed.wait(timeout):
        warnings.warn(f"librdkafka consumer close() still blocked after {timeout}s (librdkafka "
                      "issue 4362); left behind")
        return False
    return True
