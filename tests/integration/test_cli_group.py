"""Consumer groups through the kfk CLI against a kfk broker: `kfk consume --group` members
splitting a topic and committing, `kfk group list|describe` (lag = log end - committed),
every mode of `kfk group reset-offsets`, `delete` and `delete-offsets`. Each test starts its
own broker with group.initial.rebalance.delay.ms=0, so that a lone member joins at once."""

import json
import os
import signal
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import KFK
from support import wait_for

EXIT_USAGE = 2
EXIT_KAFKA = 3
EXIT_INTERRUPTED = 130


@pytest.fixture
def broker(make_broker):
    return make_broker("--set", "group.initial.rebalance.delay.ms=0").start()


def kfk(broker, *args, stdin=None, timeout=60):
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def create(broker, name, partitions=1):
    ok(kfk(broker, "topic", "create", name, "-p", str(partitions)))


def produce(broker, topic, lines, *extra):
    ok(kfk(broker, "produce", topic, *extra, stdin="".join(line + "\n" for line in lines)))


def describe(broker, group):
    r = kfk(broker, "--output", "json", "group", "describe", group)
    if r.returncode != 0:
        return None
    groups = json.loads(r.stdout)
    assert len(groups) == 1
    return groups[0]


def committed(broker, group):
    d = describe(broker, group)
    return {(o["topic"], o["partition"]): o["committed_offset"] for o in d["offsets"]}


def reset(broker, group, *args):
    return kfk(broker, "--output", "json", "group", "reset-offsets", group, *args)


class Member:
    """A `kfk consume --group` process whose output lines are collected as they come."""

    def __init__(self, broker, topic, group, *extra, tmp_path=None, name="member"):
        self.err_path = os.path.join(str(tmp_path), f"{name}.err")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [KFK, "-b", broker.bootstrap, "-v", "consume", topic, "--group", group,
             "-o", "earliest", "-f", "%p %o %s\\n", *extra],
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.lines = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def records(self):
        with self.lock:
            return [tuple(line.split(" ", 2)) for line in self.lines]

    def values(self):
        return [r[2] for r in self.records()]

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.err_path) as f:
            return f.read()

    def interrupt(self, timeout=20, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=5)
        self.err.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


@pytest.fixture
def members():
    started = []
    yield started
    for m in started:
        m.kill()


def stable_assignment(broker, group, count):
    """The group's assignment once it is Stable with `count` members that all have partitions
    (member id -> set of (topic, partition)), else None."""
    d = describe(broker, group)
    if d is None or d["state"] != "Stable" or len(d["members"]) != count:
        return None
    out = {m["member_id"]: {(a["topic"], a["partition"]) for a in m["assignment"]}
           for m in d["members"]}
    if any(not parts for parts in out.values()):
        return None
    return out


# --- members of a group ---------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_two_members_split_a_topic_and_commit(broker, members, tmp_path, strategy):
    create(broker, "split", 4)
    first = [f"k{i}:a{i}" for i in range(40)]
    produce(broker, "split", first, "-K", ":")
    x = ["-X", f"partition.assignment.strategy={strategy}"]

    a = Member(broker, "split", "g", *x, tmp_path=tmp_path, name="a")
    members.append(a)
    wait_for(lambda: stable_assignment(broker, "g", 1), what="the first member to get all four")
    assert len(next(iter(stable_assignment(broker, "g", 1).values()))) == 4

    b = Member(broker, "split", "g", *x, tmp_path=tmp_path, name="b")
    members.append(b)

    def split():
        got = stable_assignment(broker, "g", 2)
        return got if got and all(len(p) == 2 for p in got.values()) else None

    assignment = wait_for(split, timeout=30, what="two members with two partitions each")
    parts = list(assignment.values())
    assert parts[0].isdisjoint(parts[1])
    assert parts[0] | parts[1] == {("split", p) for p in range(4)}
    assert describe(broker, "g")["protocol"] == strategy

    # Records produced now reach exactly the member that owns their partition.
    second = [f"k{i}:b{i}" for i in range(40)]
    produce(broker, "split", second, "-K", ":")
    wanted = {f"a{i}" for i in range(40)} | {f"b{i}" for i in range(40)}
    wait_for(lambda: set(a.values()) | set(b.values()) == wanted, timeout=30,
             what="every record to be consumed by one of the members")
    both = a.values() + b.values()
    assert sorted(both) == sorted(wanted), "a record was consumed twice"
    by_member = {}
    for member in (a, b):
        got = {int(p) for p, _, v in member.records() if v.startswith("b")}
        by_member[member] = got
    assert by_member[a].isdisjoint(by_member[b])

    if strategy == "cooperative-sticky":
        # KIP-429: the first member kept two partitions throughout; it revoked only the two
        # that moved.
        revocations = [line for line in a.stderr().splitlines() if "revoking" in line]
        assert revocations and all(line.count("split-") == 2 for line in revocations)

    assert a.interrupt() == EXIT_INTERRUPTED
    assert b.interrupt() == EXIT_INTERRUPTED
    assert "left" in a.stderr() and "left" in b.stderr()

    # Both left and committed everything they printed.
    d = describe(broker, "g")
    assert d["state"] == "Empty" and d["members"] == []
    assert len(d["offsets"]) == 4
    for o in d["offsets"]:
        assert o["committed_offset"] == o["log_end_offset"]
        assert o["lag"] == 0
    assert sum(o["log_end_offset"] for o in d["offsets"]) == 80


def test_describe_lag_is_log_end_minus_committed(broker):
    create(broker, "lagged", 3)
    produce(broker, "lagged", [f"k{i}:v{i}" for i in range(30)], "-K", ":")
    # -c stops after 7 records: exactly what was printed is committed.
    r = ok(kfk(broker, "consume", "lagged", "--group", "lag", "-o", "earliest", "-c", "7"))
    assert len(r.stdout.splitlines()) == 7

    d = describe(broker, "lag")
    assert d["group_id"] == "lag" and d["state"] == "Empty"
    assert d["protocol_type"] == "consumer"
    offsets = {o["partition"]: o for o in d["offsets"]}
    assert set(offsets) == {0, 1, 2}
    for o in offsets.values():
        assert o["topic"] == "lagged"
        assert o["lag"] == o["log_end_offset"] - o["committed_offset"]
        assert o["member_id"] is None
    assert sum(o["committed_offset"] for o in offsets.values()) == 7
    assert sum(o["log_end_offset"] for o in offsets.values()) == 30
    assert sum(o["lag"] for o in offsets.values()) == 23

    text = ok(kfk(broker, "--output", "text", "group", "describe", "lag")).stdout
    assert "State:          Empty" in text
    header = next(line for line in text.splitlines() if line.startswith("TOPIC"))
    assert header.split() == ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                              "MEMBER-ID"]

    # The same group carries on from its commits: the other 23 records, then the end.
    r = ok(kfk(broker, "consume", "lagged", "--group", "lag", "-e"))
    assert len(r.stdout.splitlines()) == 23
    assert all(o["lag"] == 0 for o in describe(broker, "lag")["offsets"])
    assert ok(kfk(broker, "consume", "lagged", "--group", "lag", "-e")).stdout == ""


def test_group_list_and_states(broker, members, tmp_path):
    create(broker, "listed", 1)
    produce(broker, "listed", ["x"])
    ok(kfk(broker, "consume", "listed", "--group", "idle", "-o", "earliest", "-e"))
    m = Member(broker, "listed", "busy", tmp_path=tmp_path)
    members.append(m)
    wait_for(lambda: stable_assignment(broker, "busy", 1), what="the member to join")

    groups = {g["group_id"]: g for g in json.loads(ok(kfk(broker, "-o", "json", "group", "list")).stdout)}
    assert groups["idle"] == {"group_id": "idle", "state": "Empty", "protocol_type": "consumer",
                              "members": 0}
    assert groups["busy"]["state"] == "Stable" and groups["busy"]["members"] == 1

    stable = json.loads(ok(kfk(broker, "-o", "json", "group", "list", "--state", "Stable")).stdout)
    assert [g["group_id"] for g in stable] == ["busy"]
    text = ok(kfk(broker, "--output", "text", "group", "list")).stdout.splitlines()
    assert text[0].split() == ["GROUP", "STATE", "PROTOCOL-TYPE", "MEMBERS"]
    assert ["busy", "Stable", "consumer", "1"] in [line.split() for line in text[1:]]

    d = describe(broker, "busy")
    member = d["members"][0]
    assert member["client_id"] == "kfk" and member["host"]
    assert member["assignment"] == [{"topic": "listed", "partition": 0}]
    assert d["offsets"][0]["member_id"] == member["member_id"]
    assert m.interrupt() == EXIT_INTERRUPTED


def test_group_ids_that_need_escapes(broker):
    """The exact bytes of a group id with DEL, a control character and a quote: JSON escapes the
    control character as \\u00XX and keeps DEL; YAML writes both as \\xXX."""
    create(broker, "escaped", 1)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": 'g\x7f\x01"x',
                  "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition("escaped", 0, 0)], asynchronous=False)
    c.close()
    r = ok(kfk(broker, "-o", "json", "group", "list"))
    assert r.stdout == ('[{"group_id":"g\x7f\\u0001\\"x","state":"Empty","protocol_type":"",'
                        '"members":0}]\n')
    r = ok(kfk(broker, "-o", "yaml", "group", "list"))
    assert r.stdout == ('- group_id: "g\\x7f\\x01\\"x"\n  state: Empty\n  protocol_type: ""\n'
                        '  members: 0\n')


def test_static_member_keeps_its_instance_id(broker, members, tmp_path):
    create(broker, "static", 2)
    m = Member(broker, "static", "st", "-X", "group.instance.id=worker-1", tmp_path=tmp_path)
    members.append(m)
    wait_for(lambda: stable_assignment(broker, "st", 1), what="the static member to join")
    member = describe(broker, "st")["members"][0]
    assert member["group_instance_id"] == "worker-1"
    assert m.interrupt() == EXIT_INTERRUPTED


def test_consume_group_usage_errors(broker):
    create(broker, "u", 2)
    r = kfk(broker, "consume", "u", "--group", "g", "-p", "1")
    assert r.returncode == EXIT_USAGE and "-p" in r.stderr
    r = kfk(broker, "consume", "u", "--group", "g", "-o", "5")
    assert r.returncode == EXIT_USAGE and "hint:" in r.stderr
    r = kfk(broker, "consume", "missing", "--group", "g", "-e")
    assert r.returncode == EXIT_KAFKA and "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr


# --- reset-offsets ----------------------------------------------------------------------

def new_offsets(r):
    ok(r)
    return {(o["topic"], o["partition"]): o["new_offset"] for o in json.loads(r.stdout)["offsets"]}


def iso_utc(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{ms % 1000:03d}Z"


def test_reset_offsets_every_mode(broker, tmp_path):
    create(broker, "r", 1)
    produce(broker, "r", [f"old{i}" for i in range(10)])
    between = int(time.time() * 1000)
    wait_for(lambda: time.time() * 1000 > between + 5, what="the clock to move on")
    produce(broker, "r", [f"new{i}" for i in range(10)])
    tp = ("r", 0)

    # A group that does not exist yet can be given offsets.
    assert new_offsets(reset(broker, "rg", "--topic", "r", "--to-offset", "4", "--execute")) == {tp: 4}
    assert committed(broker, "rg") == {tp: 4}

    # Dry run by default: the plan, nothing committed.
    r = reset(broker, "rg", "--topic", "r", "--to-earliest")
    plan = json.loads(ok(r).stdout)
    assert plan["executed"] is False
    assert plan["offsets"] == [{"topic": "r", "partition": 0, "current_offset": 4, "new_offset": 0}]
    assert "--execute" in r.stderr
    assert committed(broker, "rg") == {tp: 4}
    text = ok(kfk(broker, "-o", "table", "group", "reset-offsets", "rg", "--topic", "r",
                  "--to-latest")).stdout
    # Piped without --output: the plan as JSON, as every command that prints data.
    piped = json.loads(ok(kfk(broker, "group", "reset-offsets", "rg", "--topic", "r",
                              "--to-latest")).stdout)
    assert piped["offsets"][0]["new_offset"] == 20 and piped["executed"] is False
    assert text.splitlines()[0].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
                                            "NEW-OFFSET"]
    assert text.splitlines()[1].split() == ["rg", "r", "0", "4", "20"]

    cases = [
        (["--to-earliest"], 0),
        (["--to-latest"], 20),
        (["--to-offset", "5"], 5),
        (["--to-offset", "1000"], 20),   # past the end: the log end
        (["--shift-by", "-3"], 17),
        (["--shift-by", "2"], 19),
        (["--shift-by", "100"], 20),
        (["--shift-by", "-100"], 0),     # before the start: the log start
        (["--to-datetime", iso_utc(between)], 10),
        (["--to-datetime", "2000-01-01T00:00:00Z"], 0),
        (["--to-datetime", "2999-01-01T00:00:00+02:00"], 20),
        (["--by-duration", "PT1H"], 0),
        (["--by-duration", "PT0S"], 20),  # nothing newer than now: the log end
        # One time syntax with consume -o @TIME and topic offsets --time.
        (["--to-datetime", "-1h"], 0),
        (["--to-datetime", str(between)], 10),
        (["--to-datetime", "+1h"], 20),
        (["--by-duration", "1h"], 0),
    ]
    for args, expected in cases:
        got = new_offsets(reset(broker, "rg", "--topic", "r", *args, "--execute"))
        assert got == {tp: expected}, args
        assert committed(broker, "rg") == {tp: expected}, args

    plan_file = tmp_path / "plan.csv"
    plan_file.write_text("# topic,partition,offset\nr,0,7\n")
    assert new_offsets(reset(broker, "rg", "--from-file", str(plan_file), "--execute")) == {tp: 7}
    assert committed(broker, "rg") == {tp: 7}
    assert new_offsets(reset(broker, "rg", "--all-topics", "--to-offset", "3", "--execute")) == {tp: 3}

    # The group carries on from the reset offset.
    r = ok(kfk(broker, "consume", "r", "--group", "rg", "-e"))
    assert r.stdout.splitlines() == [f"old{i}" for i in range(3, 10)] + [f"new{i}" for i in range(10)]


def test_reset_offsets_selected_partitions(broker):
    create(broker, "sel", 3)
    for p in range(3):
        produce(broker, "sel", [f"m{i}" for i in range(5)], "-p", str(p))
    ok(reset(broker, "sg", "--topic", "sel", "--to-latest", "--execute"))
    got = new_offsets(reset(broker, "sg", "--topic", "sel:0,2", "--to-offset", "1", "--execute"))
    assert got == {("sel", 0): 1, ("sel", 2): 1}
    assert committed(broker, "sg") == {("sel", 0): 1, ("sel", 1): 5, ("sel", 2): 1}

    r = reset(broker, "sg", "--topic", "sel:7", "--to-earliest")
    assert r.returncode == EXIT_KAFKA and "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr
    r = reset(broker, "sg", "--topic", "nope", "--to-earliest")
    assert r.returncode == EXIT_KAFKA and "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr


def test_reset_offsets_usage_errors(broker, tmp_path):
    create(broker, "ue", 1)
    produce(broker, "ue", ["a"])
    r = reset(broker, "ug", "--topic", "ue")
    assert r.returncode == EXIT_USAGE and "exactly one of" in r.stderr
    r = reset(broker, "ug", "--topic", "ue", "--to-earliest", "--to-latest")
    assert r.returncode == EXIT_USAGE and "only one" in r.stderr
    r = reset(broker, "ug", "--to-earliest")
    assert r.returncode == EXIT_USAGE and "--topic" in r.stderr
    r = reset(broker, "ug", "--topic", "ue", "--to-datetime", "yesterday")
    assert r.returncode == EXIT_USAGE and "hint:" in r.stderr
    r = reset(broker, "ug", "--topic", "ue", "--by-duration", "1 hour")
    assert r.returncode == EXIT_USAGE and "PnDTnHnMnS" in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("ue,zero,1\n")
    r = reset(broker, "ug", "--from-file", str(bad))
    assert r.returncode == EXIT_USAGE and "line 1" in r.stderr
    # Shifting needs a committed offset.
    r = reset(broker, "ug", "--topic", "ue", "--shift-by", "1")
    assert r.returncode == 1 and "no committed offset" in r.stderr


def test_reset_offsets_refused_while_the_group_is_active(broker, members, tmp_path):
    create(broker, "act", 1)
    produce(broker, "act", ["a", "b", "c"])
    m = Member(broker, "act", "ag", tmp_path=tmp_path)
    members.append(m)
    wait_for(lambda: stable_assignment(broker, "ag", 1), what="the member to join")
    wait_for(lambda: len(m.records()) == 3, what="the member to read the topic")

    r = reset(broker, "ag", "--topic", "act", "--to-earliest", "--execute")
    assert r.returncode == EXIT_KAFKA
    assert "NON_EMPTY_GROUP" in r.stderr and "Stable" in r.stderr
    assert "hint: Stop the group's consumers" in r.stderr
    # A dry run still shows the plan.
    assert new_offsets(reset(broker, "ag", "--topic", "act", "--to-earliest")) == {("act", 0): 0}

    assert m.interrupt() == EXIT_INTERRUPTED
    assert new_offsets(reset(broker, "ag", "--topic", "act", "--to-earliest", "--execute")) == \
        {("act", 0): 0}


def test_sigterm_commits_what_was_printed_and_leaves(broker, members, tmp_path):
    """kill, timeout and CI runners stop with SIGTERM: as with Ctrl-C, the member commits what
    it printed and leaves, so no ghost member holds the group for the session timeout."""
    create(broker, "term", 2)
    produce(broker, "term", [f"k{i}:v{i}" for i in range(6)], "-K", ":")
    m = Member(broker, "term", "tg", tmp_path=tmp_path)
    members.append(m)
    wait_for(lambda: len(m.records()) == 6, what="the member to print every record")

    assert m.interrupt(sig=signal.SIGTERM) == EXIT_INTERRUPTED
    assert "6 records" in m.stderr()
    d = describe(broker, "tg")
    assert d["state"] == "Empty" and d["members"] == []
    assert sum(o["committed_offset"] for o in d["offsets"]) == 6 == len(m.records())
    # No member left behind: resetting works at once.
    r = ok(reset(broker, "tg", "--topic", "term", "--to-earliest", "--execute"))
    assert new_offsets(r) == {("term", 0): 0, ("term", 1): 0}


# --- delete, delete-offsets ------------------------------------------------------------

def test_delete_offsets_and_groups(broker, members, tmp_path):
    create(broker, "d1", 2)
    create(broker, "d2", 1)
    produce(broker, "d1", ["a", "b"])
    produce(broker, "d2", ["c"])
    ok(reset(broker, "dg", "--topic", "d1", "--topic", "d2", "--to-latest", "--execute"))
    assert set(committed(broker, "dg")) == {("d1", 0), ("d1", 1), ("d2", 0)}

    r = ok(kfk(broker, "group", "delete-offsets", "dg", "--topic", "d1"))
    assert "d1-0" in r.stdout and "d1-1" in r.stdout
    assert set(committed(broker, "dg")) == {("d2", 0)}

    r = ok(kfk(broker, "-o", "json", "group", "delete", "dg"))
    assert json.loads(r.stdout) == [{"group_id": "dg", "deleted": True}]
    r = kfk(broker, "group", "describe", "dg")
    assert r.returncode == EXIT_KAFKA and "GROUP_ID_NOT_FOUND" in r.stderr
    assert "dg" not in ok(kfk(broker, "group", "list")).stdout
    r = kfk(broker, "group", "delete", "dg")
    assert r.returncode == EXIT_KAFKA and "GROUP_ID_NOT_FOUND" in r.stderr and "hint:" in r.stderr

    # A group with members can be neither deleted nor stripped of the offsets it consumes.
    m = Member(broker, "d2", "live", tmp_path=tmp_path)
    members.append(m)
    wait_for(lambda: stable_assignment(broker, "live", 1), what="the member to join")
    wait_for(lambda: committed(broker, "live").get(("d2", 0)) is not None,
             what="the member to commit")
    r = kfk(broker, "group", "delete", "live")
    assert r.returncode == EXIT_KAFKA and "NON_EMPTY_GROUP" in r.stderr
    r = kfk(broker, "group", "delete-offsets", "live", "--topic", "d2")
    assert r.returncode == EXIT_KAFKA and "GROUP_SUBSCRIBED_TO_TOPIC" in r.stderr
    assert m.interrupt() == EXIT_INTERRUPTED
    r = ok(kfk(broker, "group", "delete", "live"))
    assert r.stdout.strip() == "Deleted group live."
