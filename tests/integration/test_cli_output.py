"""Output for scripts: every listing and describe command prints a table on a terminal and
JSON into a pipe (or what --output says), JSON in the documented shapes (the comment blocks
of src/cli/topic*.cpp and group*.cpp, and the --help footers), YAML that reads back as the
same data, and colors only on a terminal without NO_COLOR. Each test starts its own broker."""

import json
import os
import pty
import subprocess

import pytest

from conftest import KFK, Broker
from support import wait_for


def kfk(broker, *args, stdin=None, env=None, timeout=60):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=full_env,
                          stdin=subprocess.DEVNULL if stdin is None else None)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def on_terminal(broker, *args, env=None):
    """kfk with stdout on a pseudo-terminal: (exit code, output with \\r\\n made \\n)."""
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env.update(env or {})
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([KFK, "-b", broker.bootstrap, *args], stdout=follower,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=full_env)
        os.close(follower)
        follower = None
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO once the child has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=60)
        return code, b"".join(chunks).decode().replace("\r\n", "\n")
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)


# Records and commits come from librdkafka (confluent_kafka): these tests check the output of
# the listings alone.

def produce(broker, topic, values, partition=0):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for value in values:
        p.produce(topic, value=value.encode(), partition=partition)
    assert p.flush(30) == 0


def commit(broker, group, topic, offset):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        c.close()


# --- the documented JSON shapes -------------------------------------------------------

class Nullable:
    def __init__(self, shape):
        self.shape = shape


class MapOf:
    def __init__(self, shape):
        self.shape = shape


def check_shape(value, shape, path="$"):
    """Fails unless `value` has exactly the fields of `shape` with the types it names."""
    if isinstance(shape, Nullable):
        if value is None:
            return
        shape = shape.shape
    if isinstance(shape, list):
        assert isinstance(value, list), f"{path}: expected an array, got {value!r}"
        for i, item in enumerate(value):
            check_shape(item, shape[0], f"{path}[{i}]")
    elif isinstance(shape, MapOf):
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        for k, v in value.items():
            check_shape(v, shape.shape, f"{path}.{k}")
    elif isinstance(shape, dict):
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        assert list(value) == list(shape), f"{path}: fields {list(value)} != {list(shape)}"
        for k, sub in shape.items():
            check_shape(value[k], sub, f"{path}.{k}")
    elif shape is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r}"
    elif shape is float:  # any JSON number
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{path}: {value!r}"
    else:
        assert isinstance(value, shape), f"{path}: expected {shape.__name__}, got {value!r}"


TOPIC_LIST = [{"name": str, "topic_id": Nullable(str), "partitions": int,
               "replication_factor": int, "internal": bool}]
TOPIC_DESCRIBE = [{
    "name": str, "topic_id": Nullable(str), "internal": bool, "partition_count": int,
    "replication_factor": int, "size_bytes": Nullable(int),
    "partitions": [{"partition": int, "leader": Nullable(int), "leader_epoch": int,
                    "replicas": [int], "isr": [int], "offline_replicas": [int],
                    "earliest_offset": Nullable(int), "latest_offset": Nullable(int),
                    "size_bytes": Nullable(int),
                    "cleaner": Nullable({"dirty_ratio": float, "first_dirty_offset": int,
                                         "last_cleaning": Nullable({
                                             "time_ms": int, "bytes_read": int,
                                             "bytes_written": int, "duration_ms": int})}),
                    "damaged": [{"broker": int, "first_offset": Nullable(int),
                                 "next_offset": Nullable(int), "segment_base_offset": int,
                                 "start_position": int, "end_position": int, "reason": str}],
                    "error": Nullable(str)}],
    "configs": Nullable([{"name": str, "value": Nullable(str), "source": str, "read_only": bool,
                          "sensitive": bool}]),
}]
TOPIC_OFFSETS = [{"topic": str, "partition": int, "earliest_offset": int, "latest_offset": int,
                  "timestamp": Nullable(int), "offset_at_time": Nullable(int)}]
TOPIC_CREATE = {"name": str, "topic_id": Nullable(str), "partitions": int,
                "replication_factor": int, "validate_only": bool}
TOPIC_ALTER = {"name": str, "set": MapOf(str), "deleted": [str], "validate_only": bool}
TOPIC_GROW = {"name": str, "partitions": int, "previous_partitions": int, "validate_only": bool}
TOPIC_TRIM = {"topic": str, "dry_run": bool,
              "partitions": [{"partition": int, "log_start_offset": Nullable(int),
                              "delete_before": int, "error": Nullable(str)}]}
TOPIC_DELETE = [{"name": str, "deleted": bool}]
GROUP_LIST = [{"group_id": str, "state": str, "protocol_type": str, "members": int}]
GROUP_DESCRIBE = [{
    "group_id": str, "state": str, "protocol_type": str, "protocol": str, "coordinator": int,
    "members": [{"member_id": str, "group_instance_id": Nullable(str), "client_id": str,
                 "host": str, "assignment": [{"topic": str, "partition": int}]}],
    "offsets": [{"topic": str, "partition": int, "committed_offset": Nullable(int),
                 "log_end_offset": Nullable(int), "lag": Nullable(int),
                 "member_id": Nullable(str)}],
}]
GROUP_RESET = {"group_id": str, "executed": bool,
               "offsets": [{"topic": str, "partition": int, "current_offset": Nullable(int),
                            "new_offset": int}]}

# Names YAML 1.1 or 1.2 would read as something else than a string when left plain.
TRICKY_TOPICS = ["true", "null", "on", "y", "007", "1e3", "0x1F", "1.5", "-1", "_under",
                 "dots.and-dashes", "NaN"]

LISTINGS = [
    (["topic", "list"], TOPIC_LIST),
    (["topic", "describe", "orders", "true"], TOPIC_DESCRIBE),
    (["topic", "offsets", "orders"], TOPIC_OFFSETS),
    (["group", "list"], GROUP_LIST),
    (["group", "describe", "readers"], GROUP_DESCRIBE),
]


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    """One broker for the read-only tests of this module, with topics and a group."""
    broker = Broker(tmp_path_factory.mktemp("populated")).start()
    try:
        ok(kfk(broker, "topic", "create", "orders", "-p", "2", "-c", "retention.ms=86400000"))
        for name in TRICKY_TOPICS:
            ok(kfk(broker, "topic", "create", name))
        produce(broker, "orders", ["a", "b", "c"])
        commit(broker, "readers", "orders", 2)
        wait_for(lambda: any(g["group_id"] == "readers" for g in
                             json.loads(ok(kfk(broker, "-o", "json", "group", "list")).stdout)),
                 what="the group to be listed")
        yield broker
    finally:
        broker.stop()


@pytest.mark.parametrize("args,shape", LISTINGS, ids=[" ".join(a[:2]) for a, _ in LISTINGS])
def test_listings_print_json_into_a_pipe(populated, args, shape):
    r = ok(kfk(populated, *args))
    value = json.loads(r.stdout)
    assert value, r.stdout
    check_shape(value, shape)
    assert r.stdout.count("\n") == 1  # one line: easy to pipe into jq or split by line
    assert json.loads(ok(kfk(populated, "-o", "json", *args)).stdout) == value


@pytest.mark.parametrize("args,shape", LISTINGS, ids=[" ".join(a[:2]) for a, _ in LISTINGS])
def test_listings_print_tables_on_a_terminal(populated, args, shape):
    code, out = on_terminal(populated, *args)
    assert code == 0, out
    assert not out.lstrip().startswith(("[", "{"))
    assert "\x1b[1m" in out  # bold headers on a terminal
    code, plain = on_terminal(populated, *args, env={"NO_COLOR": "1"})
    assert code == 0 and "\x1b[" not in plain
    # -o table (and its old name text) gives the same table into a pipe, without colors.
    piped = ok(kfk(populated, "-o", "table", *args)).stdout
    assert piped == ok(kfk(populated, "-o", "text", *args)).stdout
    assert "\x1b[" not in piped
    # An explicit format wins over the terminal.
    code, out = on_terminal(populated, "-o", "json", *args)
    assert code == 0
    check_shape(json.loads(out), shape)


@pytest.mark.parametrize("args,shape", LISTINGS, ids=[" ".join(a[:2]) for a, _ in LISTINGS])
def test_yaml_reads_back_as_the_json(populated, args, shape):
    yaml = pytest.importorskip("yaml")
    as_json = json.loads(ok(kfk(populated, "-o", "json", *args)).stdout)
    text = ok(kfk(populated, "-o", "yaml", *args)).stdout
    assert yaml.safe_load(text) == as_json, text
    check_shape(yaml.safe_load(text), shape)


def test_tricky_topic_names_stay_strings_in_yaml(populated):
    text = ok(kfk(populated, "-o", "yaml", "topic", "list")).stdout
    for name in TRICKY_TOPICS:
        plain = name in ("_under", "dots.and-dashes", "NaN")
        assert (f"- name: {name}\n" if plain else f'- name: "{name}"\n') in text, name
    assert "- name: orders\n" in text
    assert "  partitions: 1\n" in text and "  internal: false\n" in text
    yaml = pytest.importorskip("yaml")
    listed = yaml.safe_load(text)
    assert sorted(t["name"] for t in listed) == sorted(TRICKY_TOPICS + ["orders"])


def test_reports_in_every_format(broker):
    yaml = pytest.importorskip("yaml")

    def both(*args):
        as_json = json.loads(ok(kfk(broker, "-o", "json", *args)).stdout)
        return as_json

    created = both("topic", "create", "r1", "-p", "1")
    check_shape(created, TOPIC_CREATE)
    yaml_created = yaml.safe_load(ok(kfk(broker, "-o", "yaml", "topic", "create", "r2")).stdout)
    check_shape(yaml_created, TOPIC_CREATE)
    assert yaml_created["name"] == "r2"

    # Reports stay sentences into a pipe unless asked: they are for people.
    r = ok(kfk(broker, "topic", "create", "r3"))
    assert r.stdout == "Created topic r3.\n"

    check_shape(both("topic", "alter-config", "r1", "--set", "retention.ms=1000"), TOPIC_ALTER)
    check_shape(both("topic", "add-partitions", "r1", "-p", "2"), TOPIC_GROW)
    produce(broker, "r1", ["x", "y"])
    check_shape(both("topic", "trim", "r1", "--offset", "0=1", "--yes"), TOPIC_TRIM)
    commit(broker, "rg", "r1", 2)
    check_shape(both("group", "reset-offsets", "rg", "--topic", "r1", "--to-earliest"),
                GROUP_RESET)
    plan = yaml.safe_load(ok(kfk(broker, "-o", "yaml", "group", "reset-offsets", "rg",
                                 "--topic", "r1", "--to-earliest")).stdout)
    check_shape(plan, GROUP_RESET)
    check_shape(both("topic", "delete", "r2", "r3", "--yes"), TOPIC_DELETE)
    deleted = yaml.safe_load(ok(kfk(broker, "-o", "yaml", "topic", "delete", "r1", "--yes")).stdout)
    assert deleted == [{"name": "r1", "deleted": True}]
