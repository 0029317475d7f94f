"""`kfk topic` against a kfk broker: create, list, describe, offsets, alter-config,
add-partitions, trim (DeleteRecords) and delete, checked through their JSON output (the shapes
documented in src/cli/topic*.cpp) and exit codes. Each test starts its own broker."""

import json
import os
import pty
import subprocess
import time

import pytest

from conftest import KFK
from support import wait_for

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_KAFKA = 3


def kfk(broker, *args, stdin=None, timeout=60):
    # stdin is never the terminal pytest may run in: destructive commands would ask.
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL if stdin is None else None)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def js(broker, *args):
    return json.loads(ok(kfk(broker, "-o", "json", *args)).stdout)


# Records and commits come from librdkafka (confluent_kafka), so that these tests check
# `kfk topic` alone.

def produce(broker, topic, values, partition=0, timestamps=None):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i, value in enumerate(values):
        extra = {"timestamp": timestamps[i]} if timestamps else {}
        p.produce(topic, value=value.encode(), partition=partition, **extra)
    assert p.flush(30) == 0


def produce_at(broker, topic, partition, timestamps):
    """One record per timestamp (ms) into `partition`."""
    produce(broker, topic, [f"r{i}" for i in range(len(timestamps))], partition, timestamps)


def commit(broker, group, topic, offset=0):
    """Commits an offset for a group, which makes the broker create __consumer_offsets."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        c.close()


def offsets(broker, topic, *extra):
    return {o["partition"]: o for o in js(broker, "topic", "offsets", topic, *extra)}


def names(broker, *extra):
    return [t["name"] for t in js(broker, "topic", "list", *extra)]


# --- create and list ------------------------------------------------------------------

def test_create_options(broker):
    r = ok(kfk(broker, "-o", "json", "topic", "create", "orders", "-p", "3", "--dry-run"))
    assert json.loads(r.stdout)["validate_only"] is True
    assert "orders" not in names(broker)

    created = js(broker, "topic", "create", "orders", "-p", "3", "-r", "1",
                 "--config", "retention.ms=3600000", "-c", "cleanup.policy=compact")
    assert created == {"name": "orders", "topic_id": created["topic_id"], "partitions": 3,
                       "replication_factor": 1, "validate_only": False}
    assert isinstance(created["topic_id"], str) and len(created["topic_id"]) == 22

    configs = {c["name"]: c for c in js(broker, "topic", "describe", "orders")[0]["configs"]}
    assert configs["retention.ms"]["value"] == "3600000"
    assert configs["cleanup.policy"]["value"] == "compact"
    assert {c["source"] for c in configs.values()} == {"DYNAMIC_TOPIC_CONFIG"}

    r = kfk(broker, "topic", "create", "orders")
    assert r.returncode == EXIT_KAFKA and "TOPIC_ALREADY_EXISTS" in r.stderr
    r = ok(kfk(broker, "topic", "create", "orders", "--if-not-exists"))
    assert r.stdout == ""
    r = kfk(broker, "topic", "create", "bad", "--config", "retention.ms=soon")
    assert r.returncode == EXIT_KAFKA and "INVALID_CONFIG" in r.stderr
    assert "bad" not in names(broker)


def test_list_hides_internal_topics_unless_all(broker):
    ok(kfk(broker, "topic", "create", "plain"))
    produce(broker, "plain", ["x"])
    commit(broker, "g", "plain", 1)
    wait_for(lambda: "__consumer_offsets" in names(broker, "--all"),
             what="__consumer_offsets to exist")
    assert names(broker) == ["plain"]
    everything = {t["name"]: t for t in js(broker, "topic", "list", "--all")}
    assert everything["__consumer_offsets"]["internal"] is True
    assert everything["plain"]["internal"] is False
    table = ok(kfk(broker, "-o", "table", "topic", "list", "--all")).stdout
    assert "__consumer_offsets (internal)" in table
    assert "__consumer_offsets" not in ok(kfk(broker, "-o", "table", "topic", "list")).stdout


# --- describe and offsets -------------------------------------------------------------

def test_describe_offsets_size_and_configs(broker):
    ok(kfk(broker, "topic", "create", "a", "-p", "2", "-c", "segment.bytes=1048576"))
    ok(kfk(broker, "topic", "create", "b", "-p", "1"))
    produce(broker, "a", [f"value-{i}" for i in range(5)], 0)
    produce(broker, "a", [f"value-{i}" for i in range(5, 10)], 1)
    produce(broker, "b", ["one", "two", "three"])

    described = js(broker, "topic", "describe", "b", "a")
    assert [t["name"] for t in described] == ["b", "a"]  # in the order named
    a = described[1]
    assert a["partition_count"] == 2 and a["replication_factor"] == 1
    assert a["internal"] is False
    parts = a["partitions"]
    assert [p["partition"] for p in parts] == [0, 1]
    assert sum(p["latest_offset"] for p in parts) == 10
    for p in parts:
        assert p["earliest_offset"] == 0
        assert p["leader"] is not None and p["replicas"] == [p["leader"]] == p["isr"]
        assert p["offline_replicas"] == [] and p["error"] is None
        assert p["size_bytes"] > 0
    assert a["size_bytes"] == sum(p["size_bytes"] for p in parts)
    assert [(c["name"], c["value"], c["source"]) for c in a["configs"]] == [
        ("segment.bytes", "1048576", "DYNAMIC_TOPIC_CONFIG")]
    assert described[0]["partitions"][0]["latest_offset"] == 3

    every = {c["name"]: c for c in js(broker, "topic", "describe", "a", "--all-configs")[0]["configs"]}
    assert every["segment.bytes"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert every["cleanup.policy"] == {"name": "cleanup.policy", "value": "delete",
                                       "source": every["cleanup.policy"]["source"],
                                       "read_only": False, "sensitive": False}
    assert every["cleanup.policy"]["source"] in ("DEFAULT_CONFIG", "STATIC_BROKER_CONFIG")

    text = ok(kfk(broker, "-o", "table", "topic", "describe", "a")).stdout
    assert "segment.bytes=1048576  [DYNAMIC_TOPIC_CONFIG]" in text
    assert "Size on disk:" in text and "Size on disk:        -" not in text
    header = next(line for line in text.splitlines() if line.startswith("PARTITION"))
    assert header.split() == ["PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "EARLIEST",
                              "LATEST", "SIZE", "ERROR"]

    r = kfk(broker, "topic", "describe", "a", "missing")
    assert r.returncode == EXIT_KAFKA and "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr
    assert "kfk topic describe missing" in r.stderr


def test_offsets_earliest_latest_and_by_time(broker):
    ok(kfk(broker, "topic", "create", "timed", "-p", "2"))
    base = 1_700_000_000_000
    produce_at(broker, "timed", 0, [base, base + 1000, base + 2000, base + 3000])
    produce_at(broker, "timed", 1, [base + 500])

    o = offsets(broker, "timed")
    assert o[0] == {"topic": "timed", "partition": 0, "earliest_offset": 0, "latest_offset": 4,
                    "timestamp": None, "offset_at_time": None}
    assert o[1]["latest_offset"] == 1

    o = offsets(broker, "timed", "--at", str(base + 1500))
    assert o[0]["timestamp"] == base + 1500
    assert o[0]["offset_at_time"] == 2
    assert o[1]["offset_at_time"] is None  # nothing that recent in partition 1
    o = offsets(broker, "timed", "--at", "2023-11-14T22:13:20Z")  # == base
    assert o[0]["offset_at_time"] == 0 and o[0]["timestamp"] == base
    o = offsets(broker, "timed", "--at", "-1h")  # everything is older than an hour
    assert o[0]["offset_at_time"] is None

    only = js(broker, "topic", "offsets", "timed", "-p", "1")
    assert [(x["topic"], x["partition"]) for x in only] == [("timed", 1)]
    r = kfk(broker, "topic", "offsets", "timed", "-p", "7")
    assert r.returncode == EXIT_USAGE and "no partition 7" in r.stderr

    table = ok(kfk(broker, "-o", "table", "topic", "offsets", "timed", "--at", str(base + 1500)))
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["TOPIC", "PARTITION", "EARLIEST", "LATEST", "AT-TIME"]
    assert lines[1].split() == ["timed", "0", "0", "4", "2"]
    assert lines[2].split() == ["timed", "1", "0", "1", "-"]


# --- alter-config and add-partitions --------------------------------------------------

def test_alter_config(broker):
    ok(kfk(broker, "topic", "create", "cfg", "-c", "cleanup.policy=compact"))
    r = js(broker, "topic", "alter-config", "cfg", "--set", "retention.ms=999",
           "--set", "segment.ms=100000", "--delete", "cleanup.policy")
    assert r == {"name": "cfg", "set": {"retention.ms": "999", "segment.ms": "100000"},
                 "deleted": ["cleanup.policy"], "validate_only": False}
    configs = {c["name"]: c["value"] for c in js(broker, "topic", "describe", "cfg")[0]["configs"]}
    assert configs == {"retention.ms": "999", "segment.ms": "100000"}

    r = js(broker, "topic", "alter-config", "cfg", "--set", "retention.ms=5", "--dry-run")
    assert r["validate_only"] is True
    configs = {c["name"]: c["value"] for c in js(broker, "topic", "describe", "cfg")[0]["configs"]}
    assert configs["retention.ms"] == "999"
    r = kfk(broker, "topic", "alter-config", "cfg", "--set", "retention.ms=soon")
    assert r.returncode == EXIT_KAFKA and "INVALID_CONFIG" in r.stderr


def test_add_partitions(broker):
    ok(kfk(broker, "topic", "create", "grow", "-p", "1"))
    r = js(broker, "topic", "add-partitions", "grow", "-p", "4", "--dry-run")
    assert r == {"name": "grow", "partitions": 4, "previous_partitions": 1, "validate_only": True}
    assert js(broker, "topic", "describe", "grow")[0]["partition_count"] == 1

    r = ok(kfk(broker, "topic", "add-partitions", "grow", "-p", "3"))
    assert r.stdout.strip() == "Topic grow now has 3 partitions (was 1)."
    described = js(broker, "topic", "describe", "grow")[0]
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    assert all(p["leader"] is not None for p in described["partitions"])
    produce(broker, "grow", ["x"], 2)
    assert offsets(broker, "grow")[2]["latest_offset"] == 1

    r = kfk(broker, "topic", "add-partitions", "grow", "-p", "2")
    assert r.returncode == EXIT_USAGE and "already has 3 partition(s)" in r.stderr
    r = kfk(broker, "topic", "add-partitions", "nope", "-p", "2")
    assert r.returncode == EXIT_KAFKA and "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr


# --- trim -----------------------------------------------------------------------------

def test_trim_by_offset(broker):
    ok(kfk(broker, "topic", "create", "t", "-p", "2"))
    produce(broker, "t", [f"m{i}" for i in range(10)], 0)
    produce(broker, "t", [f"n{i}" for i in range(6)], 1)

    plan = js(broker, "topic", "trim", "t", "--offset", "3", "--dry-run")
    assert plan == {"topic": "t", "dry_run": True, "partitions": [
        {"partition": 0, "log_start_offset": 0, "delete_before": 3, "error": None},
        {"partition": 1, "log_start_offset": 0, "delete_before": 3, "error": None}]}
    assert offsets(broker, "t")[0]["earliest_offset"] == 0

    r = js(broker, "topic", "trim", "t", "--offset", "3", "--yes")
    assert r["dry_run"] is False
    assert [(p["partition"], p["log_start_offset"]) for p in r["partitions"]] == [(0, 3), (1, 3)]
    o = offsets(broker, "t")
    assert o[0]["earliest_offset"] == 3 and o[1]["earliest_offset"] == 3

    r = js(broker, "topic", "trim", "t", "--offset", "0=7", "--offset", "1=end", "--yes")
    assert [(p["partition"], p["delete_before"], p["log_start_offset"])
            for p in r["partitions"]] == [(0, 7, 7), (1, 6, 6)]
    o = offsets(broker, "t")
    assert (o[0]["earliest_offset"], o[1]["earliest_offset"]) == (7, 6)

    r = kfk(broker, "-o", "json", "topic", "trim", "t", "--offset", "0=50", "--yes")
    assert r.returncode == EXIT_KAFKA and "OFFSET_OUT_OF_RANGE" in r.stderr
    assert json.loads(r.stdout)["partitions"][0]["error"] == "OFFSET_OUT_OF_RANGE"
    # The hint says where the partition ends, not something about consumers.
    assert "hint: partition 0 ends at offset 10" in r.stderr

    # Piped without --output: JSON, as every command that prints data.
    r = kfk(broker, "topic", "trim", "t", "--offset", "0=7", "--dry-run")
    assert json.loads(ok(r).stdout)["partitions"][0]["delete_before"] == 7

    r = kfk(broker, "topic", "trim", "t", "--offset", "1")
    assert r.returncode == EXIT_USAGE and "--yes" in r.stderr


def test_trim_a_compacted_topic_says_why_it_is_refused(broker):
    ok(kfk(broker, "topic", "create", "kept", "-p", "1", "-c", "cleanup.policy=compact"))
    r = kfk(broker, "topic", "trim", "kept", "--offset", "0", "--yes")
    assert r.returncode == EXIT_KAFKA and "POLICY_VIOLATION" in r.stderr
    assert "cleanup.policy=compact,delete" in r.stderr


def test_trim_before_time(broker):
    ok(kfk(broker, "topic", "create", "old", "-p", "1"))
    base = 1_700_000_000_000
    produce_at(broker, "old", 0, [base, base + 1000, base + 2000, base + 3000])
    r = js(broker, "topic", "trim", "old", "--before-time", str(base + 2000), "--yes")
    assert r["partitions"] == [{"partition": 0, "log_start_offset": 2, "delete_before": 2,
                                "error": None}]
    # Every record is older than an hour ago: all of them go.
    r = js(broker, "topic", "trim", "old", "--before-time", "-1h", "--yes")
    assert r["partitions"][0]["log_start_offset"] == 4
    assert offsets(broker, "old")[0] == {"topic": "old", "partition": 0, "earliest_offset": 4,
                                         "latest_offset": 4, "timestamp": None,
                                         "offset_at_time": None}


# --- delete ---------------------------------------------------------------------------

def test_delete_names_and_regex(broker):
    for name in ["logs-a", "logs-b", "logs-c", "keep"]:
        ok(kfk(broker, "topic", "create", name))

    r = kfk(broker, "topic", "delete", "logs-a")
    assert r.returncode == EXIT_USAGE and "--yes" in r.stderr
    assert "logs-a" in names(broker)

    r = ok(kfk(broker, "topic", "delete", "logs-a", "--yes"))
    assert r.stdout.strip() == "Deleted topic logs-a."
    r = kfk(broker, "topic", "delete", "logs-a", "--yes")
    assert r.returncode == EXIT_KAFKA and "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr
    assert js(broker, "topic", "delete", "logs-a", "--yes", "--if-exists") == \
        [{"name": "logs-a", "deleted": False}]

    deleted = js(broker, "topic", "delete", "--regex", "logs-.*", "--yes")
    assert deleted == [{"name": "logs-b", "deleted": True}, {"name": "logs-c", "deleted": True}]
    assert names(broker) == ["keep"]

    r = kfk(broker, "topic", "delete", "--regex", "nothing.*", "--yes")
    assert r.returncode == EXIT_ERROR and "no topic matches" in r.stderr
    assert js(broker, "topic", "delete", "--regex", "nothing.*", "--yes", "--if-exists") == []
    r = kfk(broker, "topic", "delete", "--regex", "([", "--yes")
    assert r.returncode == EXIT_USAGE and "bad --regex" in r.stderr
    # A pattern never matches internal topics.
    commit(broker, "g", "keep")
    wait_for(lambda: "__consumer_offsets" in names(broker, "--all"),
             what="__consumer_offsets to exist")
    assert js(broker, "topic", "delete", "--regex", ".*", "--yes") == \
        [{"name": "keep", "deleted": True}]
    assert names(broker, "--all") == ["__consumer_offsets"]


def answer_on_terminal(broker, answer, *args):
    """Runs kfk with stdin on a pseudo-terminal, typing `answer` once it asks."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([KFK, "-b", broker.bootstrap, *args], stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(follower)
    try:
        os.write(leader, (answer + "\n").encode())
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out, err
    finally:
        os.close(leader)


def test_delete_asks_on_a_terminal(broker):
    ok(kfk(broker, "topic", "create", "precious"))
    code, out, err = answer_on_terminal(broker, "n", "topic", "delete", "precious")
    assert code == EXIT_ERROR
    assert "Delete 1 topic (precious) and all their records? [y/N]" in err
    assert "cancelled" in err
    assert "precious" in names(broker)

    code, out, err = answer_on_terminal(broker, "y", "topic", "delete", "precious")
    assert code == 0, err
    assert out.strip() == "Deleted topic precious."
    assert names(broker) == []


def test_trim_asks_on_a_terminal(broker):
    ok(kfk(broker, "topic", "create", "kept", "-p", "2"))
    produce(broker, "kept", ["a", "b", "c"], 0)
    produce(broker, "kept", ["d"], 1)
    code, out, err = answer_on_terminal(broker, "no", "topic", "trim", "kept", "--offset", "end")
    assert code == EXIT_ERROR
    assert "Delete about 4 records of topic kept (2 partitions)? [y/N]" in err
    assert offsets(broker, "kept")[0]["earliest_offset"] == 0

    code, out, err = answer_on_terminal(broker, "yes", "-o", "table", "topic", "trim", "kept",
                                        "--offset", "end")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["PARTITION", "DELETE-BEFORE", "NEW-LOG-START", "ERROR"]
    o = offsets(broker, "kept")
    assert (o[0]["earliest_offset"], o[1]["earliest_offset"]) == (3, 1)
