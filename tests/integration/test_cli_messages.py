"""What the kfk CLI says to people against a broker: "did you mean" for mistyped topic and
group names, each error printed once, and the notes on stderr that say what is happening
(only when stderr is a terminal, never in JSON)."""

import json
import os
import pty
import select
import signal
import subprocess
import time

import pytest

import support
from conftest import KFK

EXIT_KAFKA = 3


@pytest.fixture
def broker(make_broker):
    return make_broker("--set", "group.initial.rebalance.delay.ms=0").start()


def kfk(broker, *args, stdin=None, timeout=60):
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL if stdin is None else None)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def test_mistyped_topic_suggests_close_names(broker):
    support.create_topic(broker.bootstrap, "orders", 1)
    support.create_topic(broker.bootstrap, "payments", 1)
    for args in (["consume", "ordres", "-e"], ["produce", "ordres", "-X",
                                                 "allow.auto.create.topics=false"]):
        r = kfk(broker, *args, stdin="x\n" if args[0] == "produce" else None)
        assert r.returncode == EXIT_KAFKA, r.stderr
        assert r.stderr.count("UNKNOWN_TOPIC_OR_PARTITION") == 1, r.stderr
        assert "hint: did you mean 'orders'?" in r.stderr
    for args in (["topic", "describe", "ordres"], ["topic", "offsets", "ordres"],
                 ["topic", "trim", "ordres", "--offset", "1", "--yes"],
                 ["topic", "add-partitions", "ordres", "-p", "3"],
                 ["topic", "alter-config", "ordres", "--set", "retention.ms=1000"],
                 ["group", "reset-offsets", "g", "--topic", "ordres", "--to-earliest"]):
        r = kfk(broker, *args)
        assert r.returncode == EXIT_KAFKA, r.stderr
        assert r.stderr.count("UNKNOWN_TOPIC_OR_PARTITION") == 1, r.stderr
        assert "hint: did you mean 'orders'?" in r.stderr, args
    r = kfk(broker, "consume", "zzzzzz", "-e")
    assert r.returncode == EXIT_KAFKA and "did you mean" not in r.stderr


def test_mistyped_group_suggests_close_names(broker):
    support.create_topic(broker.bootstrap, "t", 1)
    ok(kfk(broker, "produce", "t", stdin="a\n"))
    ok(kfk(broker, "consume", "t", "--group", "billing", "-o", "earliest", "-e"))
    r = kfk(broker, "group", "describe", "biling")
    assert r.returncode == EXIT_KAFKA
    assert r.stderr.count("GROUP_ID_NOT_FOUND") == 1, r.stderr
    assert "did you mean 'billing'?" in r.stderr


def test_errors_are_printed_once(broker):
    r = kfk(broker, "group", "delete", "no-such-group")
    assert r.returncode == EXIT_KAFKA
    assert r.stderr.count("GROUP_ID_NOT_FOUND") == 1, r.stderr
    r = kfk(broker, "topic", "delete", "no-such-topic", "--yes")
    assert r.returncode == EXIT_KAFKA
    assert r.stderr.count("UNKNOWN_TOPIC_OR_PARTITION") == 1, r.stderr
    # Two failures: each named once.
    r = kfk(broker, "topic", "delete", "gone-1", "gone-2", "--yes")
    assert r.stderr.count("gone-1") == 1 and r.stderr.count("gone-2") == 1, r.stderr


def run_with_terminal_stderr(args, until, timeout=30):
    """Runs kfk with stderr on a pseudo-terminal (stdout a pipe) until `until(stderr)` holds;
    then SIGINT. Returns (stderr text, stdout bytes)."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([KFK, *args], stdout=subprocess.PIPE, stderr=secondary,
                            stdin=subprocess.DEVNULL)
    os.close(secondary)
    err = b""
    deadline = time.monotonic() + timeout
    try:
        while not until(err.decode(errors="replace")) and time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                err += chunk
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    return err.decode(errors="replace"), out


def test_consumer_at_the_end_says_it_waits(broker):
    support.create_topic(broker.bootstrap, "tail3", 3)
    ok(kfk(broker, "produce", "tail3", stdin="old\n"))
    err, out = run_with_terminal_stderr(
        ["-b", broker.bootstrap, "consume", "tail3"],
        lambda e: "waiting at the end" in e)
    assert "kfk consume: waiting at the end of 3 partitions for new records; -o start reads " \
        "the existing records" in err
    assert out == b""
    # Not when stderr is a file or a pipe: scripts see nothing of it.
    r = kfk(broker, "consume", "tail3", "-e")
    assert r.returncode == 0 and r.stderr == ""


def test_group_member_without_committed_offsets_says_where_it_starts(broker):
    support.create_topic(broker.bootstrap, "fresh", 1)
    err, _ = run_with_terminal_stderr(
        ["-b", broker.bootstrap, "consume", "fresh", "--group", "newcomers"],
        lambda e: "waiting at the end" in e)
    assert "group 'newcomers' has no committed offset for fresh-0: starting at the latest " \
        "offset (auto.offset.reset)" in err
    assert "waiting at the end of 1 assigned partition for new records" in err


def test_lost_broker_connection_is_said(make_broker):
    # A fixed port, so that the broker comes back where the consumer looks for it.
    port = support.free_port()
    broker = make_broker("--set", f"listeners=PLAINTEXT://127.0.0.1:{port}").start()
    support.create_topic(broker.bootstrap, "lost", 1)
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([KFK, "-b", broker.bootstrap, "consume", "lost"],
                            stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL)
    os.close(secondary)
    err = b""

    def read_until(text, timeout=30):
        nonlocal err
        deadline = time.monotonic() + timeout
        while text not in err.decode(errors="replace") and time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                chunk = os.read(primary, 4096)
                if not chunk:
                    break
                err += chunk
        return text in err.decode(errors="replace")

    try:
        assert read_until("waiting at the end")
        broker.stop()
        assert read_until("lost the connection to "), err
        assert read_until("; retrying")
        broker.start()
        assert read_until(" again"), err
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(primary)
    assert err.decode().count("lost the connection") == 1
