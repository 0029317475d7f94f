"""Helpers the integration tests share: waiting on conditions, free ports, topic creation,
running the kfk CLI, damaging log segments."""

import json
import socket
import struct
import subprocess
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


EXIT_DAMAGED = 6  # kfk's exit code for damaged data (src/cli/exit_codes.h)


def kfk(*args, bootstrap=None, timeout=60):
    """Runs the kfk CLI (with -b bootstrap when given); the CompletedProcess, text output."""
    from conftest import KFK
    cmd = [KFK] + (["-b", bootstrap] if bootstrap else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def verify_log(path):
    """`kfk debug verify-log path`, which must find damage: its JSON report."""
    r = kfk("-o", "json", "debug", "verify-log", str(path))
    assert r.returncode == EXIT_DAMAGED, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return json.loads(r.stdout)


def flip_bytes(path, start, count):
    """Damages a file in place: XORs `count` bytes from `start` with 0xA5."""
    data = bytearray(path.read_bytes())
    for i in range(start, start + count):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))


def segment_batches(path):
    """(position, size, base offset, last offset) of every batch of a segment file, by their
    framing (base offset, length, last offset delta at byte 23)."""
    data = path.read_bytes()
    out = []
    pos = 0
    while pos + 61 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        (delta,) = struct.unpack_from(">i", data, pos + 23)
        out.append((pos, 12 + length, base, base + delta))
        pos += 12 + length
    return out
