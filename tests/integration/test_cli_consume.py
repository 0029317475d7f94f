"""`kfk consume` against a kfk broker: several topics and patterns, partitions, offset ranges by
offset and by time, counts, output formats (strings with modifiers, JSON lines), header
printing and filtering, and the Ctrl-C summary. Records are written with confluent_kafka, so
nothing here depends on `kfk produce`."""

import json
import signal
import subprocess
import time

from confluent_kafka import Producer

import support
from conftest import KFK

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130


def kfk(broker, *args, timeout=60):
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def lines(r):
    return ok(r).stdout.decode().splitlines()


def create(broker, name, partitions=1):
    support.create_topic(broker.bootstrap, name, partitions)


def produce(broker, topic, records):
    """records: dicts with value and optional key, partition, headers, timestamp."""
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for r in records:
        kwargs = {k: r[k] for k in ("key", "headers", "timestamp") if k in r}
        p.produce(topic, value=r.get("value"), partition=r.get("partition", 0), **kwargs)
    assert p.flush(30) == 0


def test_several_topics_regex_and_partitions(broker):
    create(broker, "orders-eu", 2)
    create(broker, "orders-us", 1)
    create(broker, "payments", 1)
    produce(broker, "orders-eu", [{"value": b"eu0", "partition": 0}, {"value": b"eu1", "partition": 1}])
    produce(broker, "orders-us", [{"value": b"us0"}])
    produce(broker, "payments", [{"value": b"pay"}])

    got = lines(kfk(broker, "consume", "orders-eu", "payments", "-o", ":end", "-f", "%t:%p:%v\\n"))
    assert sorted(got) == ["orders-eu:0:eu0", "orders-eu:1:eu1", "payments:0:pay"]
    got = lines(kfk(broker, "consume", "--regex", "orders-.*", "-o", ":end", "-f", "%t %v\\n"))
    assert sorted(got) == ["orders-eu eu0", "orders-eu eu1", "orders-us us0"]
    got = lines(kfk(broker, "consume", "orders-eu", "-p", "1", "-o", ":end"))
    assert got == ["eu1"]
    got = lines(kfk(broker, "consume", "orders-eu", "-p", "0", "-p", "1", "-o", ":end"))
    assert sorted(got) == ["eu0", "eu1"]

    r = kfk(broker, "consume", "--regex", "nothing.*", "-o", ":end")
    assert r.returncode == 1 and b"no topic matches" in r.stderr
    r = kfk(broker, "consume", "--regex", "(", "-o", ":end")
    assert r.returncode == EXIT_USAGE


def test_offset_ranges(broker):
    create(broker, "log", 1)
    produce(broker, "log", [{"value": f"m{i}".encode()} for i in range(10)])

    def read(offset, *extra):
        return lines(kfk(broker, "consume", "log", "-o", offset, *extra))

    assert read(":end") == [f"m{i}" for i in range(10)]
    assert read("start:end") == [f"m{i}" for i in range(10)]
    assert read("+7:end") == ["m7", "m8", "m9"]
    assert read("-2:end") == ["m8", "m9"]
    assert read("3:6") == ["m3", "m4", "m5"]
    assert read("4", "-n", "2") == ["m4", "m5"]
    assert read("start", "--num", "3") == ["m0", "m1", "m2"]
    assert read("end:end") == []
    assert read("-3", "-e") == ["m7", "m8", "m9"]

    # :end stops at the end as it was when reading started, even when more arrives.
    produce(broker, "log", [{"value": b"m10"}])
    assert read("-1:end") == ["m10"]

    for bad in ["sometime", "5:x", "@yesterday"]:
        r = kfk(broker, "consume", "log", "-o", bad)
        assert r.returncode == EXIT_USAGE and b"hint:" in r.stderr, bad


def test_offsets_by_time(broker):
    create(broker, "timed", 1)
    now = int(time.time() * 1000)
    hour = 3_600_000
    # Timestamps two days, one and a half days, 30 minutes and 1 minute ago.
    stamps = [now - 48 * hour - 1000, now - 36 * hour, now - 30 * 60_000, now - 60_000]
    produce(broker, "timed", [{"value": f"t{i}".encode(), "timestamp": ts}
                              for i, ts in enumerate(stamps)])

    def read(offset):
        return lines(kfk(broker, "consume", "timed", "-o", offset, "-e"))

    assert read("@-10m") == ["t3"]
    assert read("@-1h") == ["t2", "t3"]
    assert read("@-48h:-24h") == ["t1"]
    assert read(f"@{stamps[1]}") == ["t1", "t2", "t3"]
    assert read(f"@{stamps[1]}:{stamps[2]}") == ["t1"]
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((stamps[2] - 1000) / 1000))
    assert read(f"@{iso}") == ["t2", "t3"]
    assert read(f"@:{iso}") == ["t0", "t1"]
    assert read("@-1m") == []  # nothing that recent: starts at the end


def test_format_tokens_and_modifiers(broker):
    create(broker, "fmt", 1)
    produce(broker, "fmt", [
        {"key": b"\x00\xffk", "value": b"hello", "headers": [("h1", b"a"), ("h2", b"\x01")],
         "timestamp": 1700000000123},
        {"value": None},
    ])
    out = lines(kfk(broker, "consume", "fmt", "-o", ":end", "-f",
                    "%o|%K|%k{hex}|%k{base64}|%v{json}|%S|%T|%H|%h{hex}|%h{json}\\n"))
    assert out[0] == ('0|3|00ff6b|AP9r|"hello"|5|1700000000123|2|h1=61,h2=01|'
                      '{"h1":"a","h2":"\\u0001"}')
    assert out[1].startswith("1|-1||") and "|null|-1|" in out[1]


def test_json_lines_output(broker):
    create(broker, "js", 1)
    produce(broker, "js", [
        {"key": b"k", "value": b'{"n": 1, "s": [true, null]}', "headers": [("h", b"v")],
         "timestamp": 1700000000000},
        {"key": None, "value": b"plain"},
        {"key": b"\xff\xfe", "value": b"\x00\x01\x02\xff"},
        {"value": b'"quoted"'},
        {"value": b"42"},
        {"value": None, "headers": [("nul", None)]},
        {"value": b""},
        {"value": b" 5"},
    ])
    out = lines(kfk(broker, "consume", "js", "-o", ":end", "-f", "json"))
    assert len(out) == 8
    recs = [json.loads(line) for line in out]
    first = recs[0]
    assert set(first) == {"topic", "partition", "offset", "timestamp", "timestamp_type", "key",
                          "value", "headers"}
    assert first["topic"] == "js" and first["partition"] == 0 and first["offset"] == 0
    assert first["timestamp"] == 1700000000000 and first["timestamp_type"] == "CreateTime"
    assert first["key"] == "k"
    assert first["value"] == {"n": 1, "s": [True, None]}  # valid JSON is embedded as it is
    assert '"value":{"n": 1, "s": [true, null]}' in out[0]
    assert first["headers"] == [{"key": "h", "value": "v"}]
    assert recs[1]["key"] is None and recs[1]["value"] == "plain"
    assert recs[2]["key"] == "//4=" and recs[2]["key_encoding"] == "base64"
    assert recs[2]["value"] == "AAEC/w==" and recs[2]["value_encoding"] == "base64"
    assert recs[3]["value"] == '"quoted"'  # a JSON string stays a string: no ambiguity
    assert recs[4]["value"] == 42
    assert recs[5]["value"] is None and recs[5]["headers"] == [{"key": "nul", "value": None}]
    assert recs[6]["value"] == ""
    assert recs[7]["value"] == " 5"  # whitespace around JSON: kept as a string

    # The global --output json gives the same lines.
    assert lines(kfk(broker, "--output", "json", "consume", "js", "-o", ":end")) == out


def test_json_lines_bytes(broker):
    """The exact lines: key order, string escapes (control characters as \\u00XX, DEL and UTF-8
    as they are), null fields, base64 with its sibling, embedded JSON values, headers; and the
    {json} modifiers of format strings."""
    create(broker, "jsb", 1)
    produce(broker, "jsb", [
        {"key": b'k"\\\x01', "value": b"\x01\x1f\x7f\xc3\xa9\n\t\r/",
         "headers": [("h", b"\xff"), ("nul", None), ('q"\x01', b"")], "timestamp": 1700000000001},
        {"key": None, "value": None, "timestamp": 1700000000002},
        {"key": b"\xff\xfe", "value": b'{"a": [1, "x\\u0001"]}', "headers": [("j", b'{"a":1}')],
         "timestamp": 1700000000003},
    ])
    out = ok(kfk(broker, "consume", "jsb", "-o", ":end", "-f", "json")).stdout
    assert out.split(b"\n") == [
        b'{"topic":"jsb","partition":0,"offset":0,"timestamp":1700000000001,'
        b'"timestamp_type":"CreateTime","key":"k\\"\\\\\\u0001",'
        b'"value":"\\u0001\\u001f\x7f\xc3\xa9\\n\\t\\r/","headers":[{"key":"h","value":"/w==",'
        b'"value_encoding":"base64"},{"key":"nul","value":null},'
        b'{"key":"q\\"\\u0001","value":""}]}',
        b'{"topic":"jsb","partition":0,"offset":1,"timestamp":1700000000002,'
        b'"timestamp_type":"CreateTime","key":null,"value":null,"headers":[]}',
        b'{"topic":"jsb","partition":0,"offset":2,"timestamp":1700000000003,'
        b'"timestamp_type":"CreateTime","key":"//4=","key_encoding":"base64",'
        b'"value":{"a": [1, "x\\u0001"]},"headers":[{"key":"j","value":"{\\"a\\":1}"}]}',
        b""]
    out = ok(kfk(broker, "consume", "jsb", "-o", ":end", "-f", "%k{json}|%v{json}|%h{json}\\n")).stdout
    assert out.split(b"\n") == [
        b'"k\\"\\\\\\u0001"|"\\u0001\\u001f\x7f\xc3\xa9\\n\\t\\r/"|'
        b'{"h":"/w==","nul":null,"q\\"\\u0001":""}',
        b"null|null|{}",
        b'"//4="|"{\\"a\\": [1, \\"x\\\\u0001\\"]}"|{"j":"{\\"a\\":1}"}',
        b""]


def test_print_headers_and_filter(broker):
    create(broker, "hdr", 1)
    produce(broker, "hdr", [
        {"key": b"a", "value": b"1", "headers": [("type", b"order"), ("v", b"2")]},
        {"key": b"b", "value": b"2", "headers": [("type", b"payment")]},
        {"key": b"c", "value": b"3", "headers": [("type", b"order")]},
    ])
    assert lines(kfk(broker, "consume", "hdr", "-o", ":end", "--print-headers", "--print-key")) == [
        "type=order,v=2\ta\t1", "type=payment\tb\t2", "type=order\tc\t3"]
    assert lines(kfk(broker, "consume", "hdr", "-o", ":end", "--filter-header", "type=order")) == [
        "1", "3"]
    assert lines(kfk(broker, "consume", "hdr", "-o", ":end", "--filter-header", "type=order",
                     "--filter-header", "v=2")) == ["1"]
    # -n counts printed records, not those filtered out.
    assert lines(kfk(broker, "consume", "hdr", "-o", "start", "-n", "2", "--filter-header",
                     "type=order")) == ["1", "3"]
    r = kfk(broker, "consume", "hdr", "--filter-header", "novalue")
    assert r.returncode == EXIT_USAGE


def test_isolation_levels(broker):
    create(broker, "iso", 1)
    produce(broker, "iso", [{"value": b"x"}])
    for level in ["read_committed", "read_uncommitted"]:
        assert lines(kfk(broker, "consume", "iso", "-o", ":end", "--isolation", level)) == ["x"]
    r = kfk(broker, "consume", "iso", "--isolation", "dirty")
    assert r.returncode == EXIT_USAGE


def test_follows_until_ctrl_c_then_prints_a_summary(broker):
    create(broker, "tail", 1)
    proc = subprocess.Popen([KFK, "-b", broker.bootstrap, "consume", "tail", "-o", "start"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    produce(broker, "tail", [{"value": b"first"}, {"value": b"second!"}])
    assert proc.stdout.readline() == b"first\n"
    assert proc.stdout.readline() == b"second!\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == EXIT_INTERRUPTED
    assert out == b""
    summary = err.decode()
    assert summary.startswith("kfk consume: 2 records, 12 B in ") and summary.endswith(" s\n")
