"""`kfk produce` against a kfk broker: partitioners checked against librdkafka
(confluent-kafka-python) and the Java client's murmur2, input formats, keys, headers,
tombstones, files, delivery reports, failures and pacing. Records are read back with
confluent_kafka, so nothing here depends on `kfk consume`."""

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import termios
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

import support
from conftest import KFK

EXIT_ERROR, EXIT_USAGE, EXIT_KAFKA, EXIT_INTERRUPTED = 1, 2, 3, 130


def kfk(broker, *args, stdin=None, timeout=60):
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], input=stdin, capture_output=True,
                          timeout=timeout)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def create(broker, name, partitions=1, config=None):
    support.create_topic(broker.bootstrap, name, partitions, config)


def read_all(broker, topic, expected, timeout=30.0):
    """Every record of every partition from the start (confluent_kafka), until `expected`."""
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                  "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=10).topics[topic]
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.partitions])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            for m in c.consume(1000, 0.2):
                assert m.error() is None, m.error()
                out.append(m)
    finally:
        c.close()
    assert len(out) == expected, f"read {len(out)} records of {expected} from {topic}"
    return out


def java_partition(key: bytes, partitions: int) -> int:
    """Utils.toPositive(Utils.murmur2(key)) % partitions, with kafka-python's murmur2."""
    from kafka.partitioner.default import murmur2
    return (murmur2(key) & 0x7FFFFFFF) % partitions


KEYS = [b"user-0", b"user-1", b"order-42", b"a", b"", "\u20ac".encode(), b"\x00\xff\x10binary",
        b"a-little-bit-longer-string"] + [f"k{i}".encode() for i in range(40)]


def librdkafka_partitions(broker, topic, partitioner, keys):
    """The partition librdkafka's `partitioner` puts each key in (one record per key)."""
    p = Producer({"bootstrap.servers": broker.bootstrap, "partitioner": partitioner})
    got = {}

    def done(err, msg):
        assert err is None, err
        got[msg.key()] = msg.partition()

    for k in keys:
        p.produce(topic, key=k, value=b"v", on_delivery=done)
    assert p.flush(30) == 0
    return got


def kfk_partitions(broker, topic, keys, *extra):
    """Produces one record per key with `kfk produce --format '%k{hex}\\t%v\\n'`, reads back
    where each landed."""
    stdin = b"".join(k.hex().encode() + b"\tv\n" for k in keys)
    ok(kfk(broker, "produce", topic, "--format", "%k{hex}\\t%v\\n", *extra, stdin=stdin))
    return {m.key(): m.partition() for m in read_all(broker, topic, len(keys))}


# --- partitioners -----------------------------------------------------------------------------

def test_keys_land_where_the_java_client_and_librdkafka_put_them(broker):
    create(broker, "by-librdkafka", 6)
    create(broker, "by-kfk", 6)
    theirs = librdkafka_partitions(broker, "by-librdkafka", "murmur2_random", KEYS)
    ours = kfk_partitions(broker, "by-kfk", KEYS)
    assert ours == theirs
    for key in KEYS:
        assert ours[key] == java_partition(key, 6), key
    # Known vectors (toPositive(murmur2(key)) % 6), also in client_partitioner_test.cpp.
    assert ours[b"user-0"] == 1 and ours[b"user-1"] == 2 and ours[b""] == 3
    assert ours["\u20ac".encode()] == 4


def test_kfk_produce_k_lands_in_the_java_partition(broker):
    create(broker, "keyk", 12)
    for key in ["user-0", "user-1", "order-42"]:
        ok(kfk(broker, "produce", "keyk", "-k", key, stdin=b"one\ntwo\n"))
    got = read_all(broker, "keyk", 6)
    for m in got:
        assert m.partition() == java_partition(m.key(), 12), m.key()
    assert {(m.key(), m.partition()) for m in got} == {(b"user-0", 7), (b"user-1", 8),
                                                       (b"order-42", 0)}


@pytest.mark.parametrize("ours,theirs", [("consistent-random", "consistent_random"),
                                         ("fnv1a_random", "fnv1a_random")])
def test_other_hashes_match_librdkafka(broker, ours, theirs):
    keys = [k for k in KEYS if k]  # an empty key is sticky under consistent_random
    create(broker, "lib", 7)
    create(broker, "ours", 7)
    assert kfk_partitions(broker, "ours", keys, "--partitioner", ours) == \
        librdkafka_partitions(broker, "lib", theirs, keys)


def test_round_robin_and_sticky(broker):
    create(broker, "rr", 4)
    ok(kfk(broker, "produce", "rr", "--partitioner", "round-robin", "-k", "same",
           stdin="".join(f"{i}\n" for i in range(40)).encode()))
    counts = [0] * 4
    for m in read_all(broker, "rr", 40):
        counts[m.partition()] += 1
    assert counts == [10, 10, 10, 10]  # keys ignored, one partition after the other

    create(broker, "st", 4)
    # Batches of about 300 bytes (ten records): sticky moves on as each fills, so several partitions fill.
    ok(kfk(broker, "produce", "st", "--partitioner", "sticky", "--batch-bytes", "300",
           "-k", "same", stdin="".join(f"value {i:04}\n" for i in range(200)).encode()))
    got = read_all(broker, "st", 200)
    assert len({m.partition() for m in got}) == 4
    # Runs: consecutive values stay together in one partition.
    by_partition = {}
    for m in got:
        by_partition.setdefault(m.partition(), []).append(int(m.value().split()[1]))
    runs = sum(1 for vals in by_partition.values() for a, b in zip(vals, vals[1:]) if b != a + 1)
    assert runs < 60

    r = kfk(broker, "produce", "st", "--partitioner", "nope", stdin=b"x\n")
    assert r.returncode == EXIT_USAGE and b"nope" in r.stderr


# --- input forms -------------------------------------------------------------------------------

def test_format_string_with_every_token(broker):
    create(broker, "fmt", 3)
    stdin = (b"k1\tv1\t2\t1700000000001\th1=a,h2=b\n"
             b"k2\tv two\t0\t1700000000002\t\n"
             b"k3\t\t1\t1700000000003\th=\n")
    ok(kfk(broker, "produce", "fmt", "--format", "%k\\t%v\\t%p\\t%T\\t%h\\n", stdin=stdin))
    got = sorted(read_all(broker, "fmt", 3), key=lambda m: m.key())
    assert [(m.key(), m.value(), m.partition(), m.timestamp()[1]) for m in got] == [
        (b"k1", b"v1", 2, 1700000000001), (b"k2", b"v two", 0, 1700000000002),
        (b"k3", b"", 1, 1700000000003)]
    assert got[0].headers() == [("h1", b"a"), ("h2", b"b")]
    assert not got[1].headers()
    assert got[2].headers() == [("h", b"")]


def test_format_string_binary_modifiers_and_escapes(broker):
    create(broker, "bin", 1)
    stdin = b"00ff|AAEC;" + b"6869|aGk=;"  # hex key | base64 value ; record separator
    ok(kfk(broker, "produce", "bin", "--format", "%k{hex}|%v{base64};", stdin=stdin))
    got = read_all(broker, "bin", 2)
    assert [(m.key(), m.value()) for m in got] == [(b"\x00\xff", b"\x00\x01\x02"), (b"hi", b"hi")]

    r = kfk(broker, "produce", "bin", "--format", "%k%v\\n", stdin=b"x\n")
    assert r.returncode == EXIT_USAGE and b"between" in r.stderr
    r = kfk(broker, "produce", "bin", "--format", "%q\\n", stdin=b"x\n")
    assert r.returncode == EXIT_USAGE and b"%q" in r.stderr
    r = kfk(broker, "produce", "bin", "--format", "%k{hex}\\t%v\\n", stdin=b"zz\tv\n")
    assert r.returncode == EXIT_ERROR and b"line 1" in r.stderr and b"hex" in r.stderr
    # A line without the separator is an error, not a key running into the next line.
    r = kfk(broker, "produce", "bin", "--format", "%k\\t%v\\n", stdin=b"k\tv\nno tab\nk\tv\n")
    assert r.returncode == EXIT_ERROR and b"line 2" in r.stderr


def test_json_lines_input(broker):
    create(broker, "js", 2)
    lines = [
        {"key": "a", "value": {"n": 1, "s": "x y"}, "headers": [{"key": "h", "value": "1"}]},
        {"key": None, "value": "plain text", "partition": 1, "timestamp": 1600000000000},
        {"key": "AP8=", "key_encoding": "base64", "value": None},
        {"value": [1, 2, 3], "headers": {"a": "b", "n": None}},
    ]
    stdin = "\n".join(json.dumps(x, separators=(",", ":")) for x in lines) + "\n\n"
    ok(kfk(broker, "produce", "js", "--format", "json", "-p", "0", stdin=stdin.encode()))
    got = read_all(broker, "js", 4)
    assert [m.partition() for m in got] == [0, 0, 0, 0]  # -p beats the record's partition
    assert got[0].key() == b"a" and got[0].value() == b'{"n":1,"s":"x y"}'
    assert got[0].headers() == [("h", b"1")]
    assert got[1].key() is None and got[1].value() == b"plain text"
    assert got[1].timestamp()[1] == 1600000000000
    assert got[2].key() == b"\x00\xff" and got[2].value() is None
    assert got[3].value() == b"[1,2,3]" and got[3].headers() == [("a", b"b"), ("n", None)]

    r = kfk(broker, "produce", "js", "--format", "json", stdin=b'{"value":"ok"}\n{"value":\n')
    assert r.returncode == EXIT_ERROR
    assert b"line 2" in r.stderr and b"hint:" in r.stderr
    read_all(broker, "js", 5)  # the good line before the bad one was still sent


def test_key_separator_headers_and_tombstones(broker):
    create(broker, "tomb", 1)
    ok(kfk(broker, "produce", "tomb", "-K", ":", "-H", "src=test", "-H", "n=1", "--null-value",
           stdin=b"a:1\nb:\nc:3\n"))
    ok(kfk(broker, "produce", "tomb", "-k", "fixed", "--null-value", "NULL",
           stdin=b"NULL\nnot null\n"))
    got = read_all(broker, "tomb", 5)
    assert [(m.key(), m.value()) for m in got] == [
        (b"a", b"1"), (b"b", None), (b"c", b"3"), (b"fixed", None), (b"fixed", b"not null")]
    assert got[0].headers() == [("src", b"test"), ("n", b"1")]
    assert not got[3].headers()

    r = kfk(broker, "produce", "tomb", "-k", "x", "-K", ":", stdin=b"")
    assert r.returncode == EXIT_USAGE
    r = kfk(broker, "produce", "tomb", "--transactional-id", "tx", stdin=b"x\n")
    assert r.returncode == 5 and b"transactions" in r.stderr  # not available yet


def test_files_print_offsets_and_options(broker, tmp_path):
    create(broker, "files", 1)
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_bytes(b"a1\na2\n")
    b.write_bytes(b"b1\nb2\nb3")  # no final newline
    r = ok(kfk(broker, "produce", "files", "-f", str(a), str(b), "--print-offsets",
               "--acks", "1", "-z", "zstd", "--linger-ms", "0", "--batch-bytes", "64"))
    assert r.stdout.decode().splitlines() == [f"files 0 {i}" for i in range(5)]
    assert r.stderr == b""  # no progress line when stderr is not a terminal
    assert [m.value() for m in read_all(broker, "files", 5)] == [b"a1", b"a2", b"b1", b"b2", b"b3"]

    r = ok(kfk(broker, "--output", "json", "produce", "files", "--print-offsets", "-k", "k",
               stdin=b"x\ny\n"))
    reports = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert reports == [{"record": 1, "topic": "files", "partition": 0, "offset": 5},
                       {"record": 2, "topic": "files", "partition": 0, "offset": 6}]
    assert r.stdout == (b'{"record":1,"topic":"files","partition":0,"offset":5}\n'
                        b'{"record":2,"topic":"files","partition":0,"offset":6}\n')

    r = kfk(broker, "produce", "files", "-f", str(tmp_path / "missing.txt"))
    assert r.returncode == EXIT_ERROR and b"missing.txt" in r.stderr


def test_failed_records_are_named_and_fail_the_command(broker):
    create(broker, "small", 1)
    stdin = b"ok1\n" + b"x" * 2000 + b"\nok2\n"
    r = kfk(broker, "-X", "max.request.size=1000", "produce", "small", stdin=stdin)
    assert r.returncode == EXIT_KAFKA
    err = r.stderr.decode()
    assert "record 2 (line 2)" in err and "MESSAGE_TOO_LARGE" in err
    assert "1 of 3 records failed" in err
    assert [m.value() for m in read_all(broker, "small", 2)] == [b"ok1", b"ok2"]


def test_rate_limits_records_per_second(broker):
    create(broker, "paced", 1)
    start = time.monotonic()
    ok(kfk(broker, "produce", "paced", "--rate", "20/s", stdin=b"".join(b"r\n" for _ in range(21))))
    elapsed = time.monotonic() - start
    assert elapsed >= 0.95, elapsed  # 21 records at 20/s: the last goes out after 1 s
    read_all(broker, "paced", 21)
    r = kfk(broker, "produce", "paced", "--rate", "fast", stdin=b"")
    assert r.returncode == EXIT_USAGE


def test_progress_line_on_a_terminal(broker, tmp_path):
    create(broker, "prog", 1)
    data = tmp_path / "big.txt"
    data.write_bytes(b"".join(b"record %06d\n" % i for i in range(20000)))
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([KFK, "-b", broker.bootstrap, "produce", "prog", "-f", str(data)],
                            stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL)
    os.close(secondary)
    err = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    assert proc.wait(timeout=60) == 0, err
    os.close(primary)
    assert b"rec/s" in err and b"MB/s" in err and b"ETA" in err
    # The line is cleared at the end, and a summary says what was sent.
    progress, summary = err.rsplit(b"\r\x1b[K", 1)
    assert summary.startswith(b"kfk produce: 20000 records acknowledged, 273.4 KiB in ")
    assert summary.endswith(b" s\r\n")
    read_all(broker, "prog", 20000)


def test_no_summary_when_stderr_is_not_a_terminal(broker):
    create(broker, "quiet", 1)
    r = ok(kfk(broker, "produce", "quiet", stdin=b"a\nb\n"))
    assert r.stderr == b""


def test_interactive_input_is_sent_line_by_line(broker):
    """A line typed (or piped slowly) goes out after linger.ms, not at the end of input."""
    create(broker, "live", 1)
    proc = subprocess.Popen([KFK, "-b", broker.bootstrap, "produce", "live", "--print-offsets"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"first\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"live 0 0\n"  # delivered while stdin is still open
        proc.stdin.write(b"second\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"live 0 1\n"
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=20) == 0
    assert [m.value() for m in read_all(broker, "live", 2)] == [b"first", b"second"]


def unread_bytes(pipe):
    """Bytes written to `pipe` that the reader has not taken yet (FIONREAD works on both ends)."""
    return struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def test_sigterm_flushes_and_reports_what_was_acknowledged(broker):
    """Stopped by SIGTERM (kill, timeout, a CI runner) as by Ctrl-C: records read but still
    waiting for linger.ms are sent, and stderr says how many the broker acknowledged."""
    create(broker, "term", 1)
    proc = subprocess.Popen([KFK, "-b", broker.bootstrap, "produce", "term", "--linger-ms",
                             "60000"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"one\ntwo\nthree\n")
        proc.stdin.flush()
        support.wait_for(lambda: unread_bytes(proc.stdin) == 0, what="kfk to read the input")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert err.decode().startswith("kfk produce: 3 records acknowledged, 14 B in "), err
    assert [m.value() for m in read_all(broker, "term", 3)] == [b"one", b"two", b"three"]
