"""kfk's own client commands (topic, produce, consume) against a kfk broker, cross-checked
with kcat. Each test starts its own broker (conftest.py)."""

import json
import shutil
import signal
import subprocess
import time

import pytest

from conftest import KFK

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
KCAT = shutil.which("kcat")


def kfk(broker, *args, stdin=None, timeout=60):
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def create(broker, name, partitions=1, *extra):
    ok(kfk(broker, "topic", "create", name, "-p", str(partitions), *extra))


def consume_all(broker, topic, *extra):
    return ok(kfk(broker, "consume", topic, "-o", "earliest", "-e", *extra)).stdout


def java_partition(key: bytes, partitions: int) -> int:
    """The Java client's choice, computed with kafka-python's murmur2."""
    from kafka.partitioner.default import murmur2
    return (murmur2(key) & 0x7FFFFFFF) % partitions


# --- topics ---------------------------------------------------------------------------

def test_topic_create_list_describe_delete(broker):
    r = ok(kfk(broker, "topic", "create", "orders", "-p", "3", "--validate-only"))
    assert "orders" in r.stdout
    assert "orders" not in ok(kfk(broker, "topic", "list")).stdout

    r = ok(kfk(broker, "topic", "create", "orders", "-p", "3", "-r", "1"))
    assert r.stdout.strip() == "Created topic orders."

    listing = ok(kfk(broker, "--output", "text", "topic", "list")).stdout.splitlines()
    assert listing[0].split() == ["NAME", "PARTITIONS", "REPLICAS"]
    assert ["orders", "3", "1"] in [line.split() for line in listing[1:]]
    topics = json.loads(ok(kfk(broker, "--output", "json", "topic", "list")).stdout)
    entry = next(t for t in topics if t["name"] == "orders")
    assert entry["partitions"] == 3 and entry["replication_factor"] == 1
    assert entry["topic_id"]

    text = ok(kfk(broker, "--output", "text", "topic", "describe", "orders")).stdout
    assert "Topic:               orders" in text
    assert f"Topic ID:            {entry['topic_id']}" in text
    assert "Partitions:          3" in text
    described = json.loads(ok(kfk(broker, "-o", "json", "topic", "describe", "orders")).stdout)
    assert len(described) == 1
    parts = described[0]["partitions"]
    assert [p["partition"] for p in parts] == [0, 1, 2]
    for p in parts:
        assert p["leader"] >= 0
        assert p["replicas"] == [p["leader"]] and p["isr"] == [p["leader"]]

    r = kfk(broker, "topic", "create", "orders")
    assert r.returncode == 3
    assert "TOPIC_ALREADY_EXISTS" in r.stderr and "kfk topic create orders" in r.stderr
    ok(kfk(broker, "topic", "create", "orders", "--if-not-exists"))

    r = ok(kfk(broker, "topic", "delete", "orders", "--yes"))
    assert "Deleted topic orders." in r.stdout
    assert "orders" not in ok(kfk(broker, "topic", "list")).stdout
    r = kfk(broker, "topic", "delete", "orders", "--yes")
    assert r.returncode == 3 and "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr
    ok(kfk(broker, "topic", "delete", "orders", "--if-exists", "--yes"))

    r = kfk(broker, "topic", "describe", "nope")
    assert r.returncode == 3 and "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr


def test_topic_create_bad_settings_name_the_error(broker):
    r = kfk(broker, "topic", "create", "bad", "-c", "cleanup.policy=sideways")
    assert r.returncode == 3, r.stderr
    assert "INVALID_CONFIG" in r.stderr
    r = kfk(broker, "topic", "create", "bad", "-c", "novalue")
    assert r.returncode == 2


def test_topic_configs(broker):
    create(broker, "cfg", 1, "-c", "retention.ms=12345", "-c", "cleanup.policy=compact")
    text = ok(kfk(broker, "--output", "text", "topic", "describe", "cfg")).stdout
    assert "retention.ms=12345" in text and "cleanup.policy=compact" in text
    assert "segment.bytes" not in text  # defaults are left out

    ok(kfk(broker, "topic", "alter-config", "cfg", "--set", "retention.ms=999",
           "--delete", "cleanup.policy"))
    configs = json.loads(ok(kfk(broker, "-o", "json", "topic", "describe", "cfg")).stdout)[0]["configs"]
    by_name = {c["name"]: c for c in configs}
    assert by_name["retention.ms"]["value"] == "999"
    assert by_name["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert "cleanup.policy" not in by_name

    everything = ok(kfk(broker, "--output", "text", "topic", "describe", "cfg", "--all-configs")).stdout
    assert "cleanup.policy=delete" in everything

    r = kfk(broker, "topic", "alter-config", "cfg", "--set", "retention.ms=soon")
    assert r.returncode == 3 and "INVALID_CONFIG" in r.stderr
    r = kfk(broker, "topic", "alter-config", "cfg")
    assert r.returncode == 2


# --- produce and consume --------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_produce_consume_every_codec(broker, codec):
    create(broker, "one", 1)
    lines = [f"line {i} " + "x" * (i % 50) for i in range(500)]
    r = ok(kfk(broker, "produce", "one", "-z", codec, stdin="\n".join(lines) + "\n"))
    assert r.stdout == "" and r.stderr == ""
    assert consume_all(broker, "one").splitlines() == lines

    create(broker, "three", 3)
    ok(kfk(broker, "produce", "three", "-z", codec, "--acks", "1", stdin="\n".join(lines)))
    got = consume_all(broker, "three").splitlines()
    assert sorted(got) == sorted(lines)


def test_acks_zero(broker):
    create(broker, "fire", 1)
    ok(kfk(broker, "produce", "fire", "--acks", "0", stdin="a\nb\nc\n"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if consume_all(broker, "fire").splitlines() == ["a", "b", "c"]:
            break
        time.sleep(0.2)
    assert consume_all(broker, "fire").splitlines() == ["a", "b", "c"]


def test_keys_headers_and_partitioning(broker):
    create(broker, "keyed", 4)
    keys = [f"user-{i}" for i in range(40)]
    stdin = "".join(f"{k}:value of {k}\n" for k in keys)
    r = ok(kfk(broker, "-v", "produce", "keyed", "-K", ":", "-H", "source=test", "-H", "n=1",
               stdin=stdin))
    assert "delivered to keyed" in r.stderr

    out = consume_all(broker, "keyed", "-f", "%p|%k|%s|%h\\n")
    rows = [line.split("|") for line in out.splitlines()]
    assert len(rows) == len(keys)
    for partition, key, value, headers in rows:
        assert value == f"value of {key}"
        assert headers == "source=test,n=1"
        assert int(partition) == java_partition(key.encode(), 4), key

    records = [json.loads(line) for line in
               ok(kfk(broker, "--output", "json", "consume", "keyed", "-o", "earliest", "-e")).stdout.splitlines()]
    assert len(records) == len(keys)
    rec = records[0]
    assert set(rec) >= {"topic", "partition", "offset", "timestamp", "key", "value", "headers"}
    assert rec["topic"] == "keyed"
    assert rec["headers"] == [{"key": "source", "value": "test"}, {"key": "n", "value": "1"}]
    assert rec["timestamp"] > 1_600_000_000_000

    # --print-key and the per-partition read
    out = consume_all(broker, "keyed", "--print-key", "-p", str(java_partition(b"user-0", 4)))
    assert "user-0\tvalue of user-0" in out.splitlines()


def test_explicit_partition_offsets_and_count(broker):
    create(broker, "parts", 2)
    ok(kfk(broker, "produce", "parts", "-p", "1", stdin="".join(f"m{i}\n" for i in range(10))))
    assert consume_all(broker, "parts", "-p", "0") == ""
    assert consume_all(broker, "parts", "-p", "1").splitlines() == [f"m{i}" for i in range(10)]
    assert ok(kfk(broker, "consume", "parts", "-p", "1", "-o", "7", "-e")).stdout.splitlines() == ["m7", "m8", "m9"]
    assert ok(kfk(broker, "consume", "parts", "-o", "-2", "-e")).stdout.splitlines() == ["m8", "m9"]
    assert ok(kfk(broker, "consume", "parts", "-o", "earliest", "-c", "3")).stdout.splitlines() == ["m0", "m1", "m2"]
    assert ok(kfk(broker, "consume", "parts", "-o", "latest", "-e")).stdout == ""
    out = ok(kfk(broker, "consume", "parts", "-p", "1", "-o", "earliest", "-e", "-c", "2",
                 "-f", "%t/%p/%o %s\\n")).stdout
    assert out == "parts/1/0 m0\nparts/1/1 m1\n"

    r = kfk(broker, "produce", "parts", "-p", "5", stdin="x\n")
    assert r.returncode == 2 and "has 2 partitions" in r.stderr
    r = kfk(broker, "consume", "parts", "-o", "sometime")
    assert r.returncode == 2
    r = kfk(broker, "consume", "parts", "-f", "%q")
    assert r.returncode == 2 and "%q" in r.stderr


def test_offset_past_the_end_moves_to_latest(broker):
    create(broker, "short", 1)
    ok(kfk(broker, "produce", "short", stdin="a\nb\n"))
    # Offset 100 is out of range: the consumer resets to auto.offset.reset (latest by default).
    r = ok(kfk(broker, "consume", "short", "-o", "100", "-e"))
    assert r.stdout == ""
    r = ok(kfk(broker, "-X", "auto.offset.reset=earliest", "consume", "short", "-o", "100", "-e"))
    assert r.stdout.splitlines() == ["a", "b"]


def test_consume_unknown_topic_and_unreachable_broker(broker):
    r = kfk(broker, "consume", "missing", "-e")
    assert r.returncode == 3
    assert "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr

    r = subprocess.run([KFK, "-b", "127.0.0.1:1", "topic", "list"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 4
    assert "127.0.0.1:1" in r.stderr and "hint:" in r.stderr


def test_ctrl_c_exits_130_with_a_summary(broker):
    create(broker, "follow", 1)
    proc = subprocess.Popen([KFK, "-b", broker.bootstrap, "consume", "follow"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    ok(kfk(broker, "produce", "follow", stdin="live\n"))
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert out == "live\n"
    assert err.startswith("kfk consume: 1 record, 4 B in "), err


# --- against kcat ---------------------------------------------------------------------

@pytest.mark.skipif(KCAT is None, reason="kcat is not installed")
@pytest.mark.parametrize("codec", CODECS)
def test_kfk_produces_kcat_consumes(broker, codec):
    create(broker, "tokcat", 2)
    lines = [f"k{i}=v{i}" for i in range(200)]
    ok(kfk(broker, "produce", "tokcat", "-z", codec, "-K", "=", "-H", "h=1",
           stdin="\n".join(lines) + "\n"))
    r = subprocess.run([KCAT, "-b", broker.bootstrap, "-C", "-t", "tokcat", "-e", "-q",
                        "-f", "%p %k=%s %h\n"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = [line.split(" ") for line in r.stdout.splitlines()]
    assert sorted(kv for _, kv, _ in rows) == sorted(lines)
    for partition, kv, headers in rows:
        assert headers == "h=1"
        assert int(partition) == java_partition(kv.split("=")[0].encode(), 2)


@pytest.mark.skipif(KCAT is None, reason="kcat is not installed")
@pytest.mark.parametrize("codec", CODECS)
def test_kcat_produces_kfk_consumes(broker, codec):
    create(broker, "fromkcat", 3)
    lines = [f"key{i}:value {i}" for i in range(200)]
    r = subprocess.run([KCAT, "-b", broker.bootstrap, "-P", "-t", "fromkcat", "-K", ":",
                        "-z", codec, "-X", "partitioner=murmur2_random",
                        "-X", "message.timeout.ms=20000"],
                       input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = consume_all(broker, "fromkcat", "-f", "%p %k:%s\\n")
    rows = [line.split(" ", 1) for line in out.splitlines()]
    assert sorted(kv for _, kv in rows) == sorted(lines)
    for partition, kv in rows:
        # kcat with murmur2_random and kfk agree on the partition of every key.
        assert int(partition) == java_partition(kv.split(":")[0].encode(), 3)
