"""kfk perf produce|consume|e2e against a broker: the JSON report's documented shape, that the
records really landed (high watermarks, and the segment files decoded by kfk debug dump-log),
rate limiting, payload files, compression, and errors."""

import glob
import json
import os
import re
import subprocess
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import KFK

LATENCY_KEYS = ["avg", "min", "max", "p50", "p95", "p99", "p99_9"]


def kfk(broker, *args, timeout=120):
    return subprocess.run([KFK, "-b", broker.bootstrap, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def json_lines(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def summary(r):
    assert r.returncode == 0, r.stderr
    docs = json_lines(r.stdout)
    assert docs and docs[-1]["type"] == "summary"
    return docs[-1], docs[:-1]


def check_shape(doc, mode, latency):
    assert doc["mode"] == mode
    for key in ("records", "failed", "bytes", "seconds", "records_per_sec", "mb_per_sec"):
        assert isinstance(doc[key], (int, float)), key
    if doc["seconds"] > 0:
        assert abs(doc["records_per_sec"] - doc["records"] / doc["seconds"]) <= \
            0.01 * doc["records_per_sec"] + 1
        assert abs(doc["mb_per_sec"] - doc["bytes"] / doc["seconds"] / 1e6) <= \
            0.01 * doc["mb_per_sec"] + 0.01
    if latency:
        lat = doc["latency_ms"]
        assert list(lat) == LATENCY_KEYS
        assert 0 <= lat["min"] <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["p99_9"] <= lat["max"]
        assert lat["min"] <= lat["avg"] <= lat["max"]
    else:
        assert "latency_ms" not in doc


def high_watermarks(broker, topic, partitions):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "perf-check"})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)]
    finally:
        c.close()


def segments(broker, topic):
    return sorted(glob.glob(os.path.join(broker.data_dir, "logs", f"{topic}-*", "*.log")))


def test_produce_report_and_records_on_disk(broker):
    r = kfk(broker, "-o", "json", "perf", "produce", "perf-a", "-n", "20000", "-s", "200",
            "-p", "3", "-c", "2")
    doc, _ = summary(r)
    check_shape(doc, "produce", latency=True)
    assert doc["records"] == 20000 and doc["failed"] == 0 and doc["bytes"] == 20000 * 200
    marks = high_watermarks(broker, "perf-a", 3)
    assert sum(marks) == 20000
    assert all(m > 0 for m in marks), marks  # batches move from partition to partition
    # The segment files hold exactly those records, every batch with a valid CRC.
    files = segments(broker, "perf-a")
    assert len(files) == 3
    d = subprocess.run([KFK, "-o", "json", "debug", "dump-log", *files], capture_output=True,
                       text=True, timeout=60)
    assert d.returncode == 0, d.stderr
    dumps = json_lines(d.stdout)
    assert sum(x["record_count"] for x in dumps) == 20000
    assert all(b["crc_valid"] for x in dumps for b in x["batches"])
    # The broker's offset indexes point at those batches.
    indexes = [f[:-len(".log")] + ".index" for f in files]
    d = subprocess.run([KFK, "-o", "json", "debug", "dump-log", *indexes], capture_output=True,
                       text=True, timeout=60)
    assert d.returncode == 0, d.stdout + d.stderr
    assert all(x["checked_against_log"] and x["error"] is None for x in json_lines(d.stdout))


def test_produce_text_progress_and_duration(broker):
    r = kfk(broker, "-o", "table", "perf", "produce", "perf-b", "-d", "1.5", "--interval", "0.4",
            "-s", "50")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    progress = [line for line in lines if line.endswith("ms max latency.")]
    assert len(progress) >= 2, r.stdout
    assert lines[-2].startswith(tuple("0123456789")) and " records sent in " in lines[-2]
    assert lines[-1].startswith("Latency (send to acknowledgement): avg ")
    assert "p99.9" in lines[-1]


def test_json_lines_when_piped(broker):
    """Like every command that prints data: JSON when stdout is not a terminal."""
    r = kfk(broker, "perf", "produce", "perf-pipe", "-n", "50")
    doc, _ = summary(r)
    check_shape(doc, "produce", latency=True)
    assert doc["records"] == 50
    # The exact line: key order and the digits after the point of each figure.
    ms = r"\d+\.\d{3}"
    assert re.fullmatch(
        r'\{"type":"summary","mode":"produce","records":50,"failed":0,"bytes":\d+,'
        r'"seconds":\d+\.\d{6},"records_per_sec":\d+\.\d,"mb_per_sec":\d+\.\d{3},'
        rf'"latency_ms":\{{"avg":{ms},"min":{ms},"max":{ms},"p50":{ms},"p95":{ms},"p99":{ms},'
        rf'"p99_9":{ms}\}}\}}\n', r.stdout), r.stdout


def test_interval_lines_in_json(broker):
    r = kfk(broker, "-o", "json", "perf", "produce", "perf-c", "-d", "1.2", "--interval", "0.3")
    doc, intervals = summary(r)
    assert len(intervals) >= 2
    for i in intervals:
        assert i["type"] == "interval"
        check_shape(i, "produce", latency=i["records"] > 0)
    # The summary also counts what arrived after the last progress line.
    assert doc["records"] >= sum(i["records"] for i in intervals) > 0


def test_rate_limit(broker):
    start = time.monotonic()
    r = kfk(broker, "-o", "json", "perf", "produce", "perf-rate", "-n", "3000", "-r", "2000")
    elapsed = time.monotonic() - start
    doc, _ = summary(r)
    assert doc["records"] == 3000
    # 3000 records at 2000/s take 1.5 s; the report agrees with the clock.
    assert 1.3 <= doc["seconds"] <= elapsed
    assert 1500 <= doc["records_per_sec"] <= 2300


def test_payload_file_and_compression(broker, tmp_path):
    payloads = tmp_path / "payloads.txt"
    payloads.write_text("".join(f'{{"id":{i},"text":"{"x" * 40}"}}\n' for i in range(10)))
    r = kfk(broker, "-o", "json", "perf", "produce", "perf-file", "-n", "1000", "-z", "lz4",
            "--payload-file", str(payloads))
    doc, _ = summary(r)
    assert doc["records"] == 1000
    c = kfk(broker, "consume", "perf-file", "-o", "earliest", "-c", "10", "--format", "json")
    assert c.returncode == 0, c.stderr
    values = [json.loads(line)["value"] for line in c.stdout.splitlines()]
    assert values == [{"id": i, "text": "x" * 40} for i in range(10)] or values == [
        f'{{"id":{i},"text":"{"x" * 40}"}}' for i in range(10)]
    d = subprocess.run([KFK, "-o", "json", "debug", "dump-log", *segments(broker, "perf-file")],
                       capture_output=True, text=True, timeout=60)
    assert {b["compression"] for x in json_lines(d.stdout) for b in x["batches"]} == {"lz4"}


def test_consume_reads_to_the_end(broker):
    summary(kfk(broker, "-o", "json", "perf", "produce", "perf-d", "-n", "5000", "-s", "300",
                "-p", "2"))
    doc, _ = summary(kfk(broker, "-o", "json", "perf", "consume", "perf-d"))
    check_shape(doc, "consume", latency=False)
    assert doc["records"] == 5000 and doc["bytes"] == 5000 * 300
    doc, _ = summary(kfk(broker, "-o", "json", "perf", "consume", "perf-d", "-n", "1000"))
    assert doc["records"] >= 1000


def test_consume_more_than_there_is_fails_after_the_timeout(broker):
    summary(kfk(broker, "-o", "json", "perf", "produce", "perf-e", "-n", "100"))
    r = kfk(broker, "perf", "consume", "perf-e", "-n", "500", "--timeout", "1")
    assert r.returncode == 1
    assert "100 of 500 records arrived" in r.stderr and "hint:" in r.stderr


def test_e2e_latency(broker):
    r = kfk(broker, "-o", "json", "perf", "e2e", "perf-e2e", "-n", "400", "-r", "400")
    doc, _ = summary(r)
    check_shape(doc, "e2e", latency=True)
    assert doc["records"] == 400 and doc["failed"] == 0
    assert doc["latency_ms"]["p50"] < 100


@pytest.mark.parametrize("mode", ["e2e", "produce"])
def test_duration_and_rate_send_exactly_rate_times_duration(broker, mode):
    """-d 1 -r 10 is records due at 0, 0.1, ..., 0.9 s: ten, not an eleventh due at 1 s."""
    r = kfk(broker, "-o", "json", "perf", mode, f"perf-d-{mode}", "-d", "1", "-r", "10")
    doc, _ = summary(r)
    assert doc["records"] == 10 and doc["failed"] == 0
    hw = high_watermarks(broker, f"perf-d-{mode}", 1)
    assert hw == [10]


def test_errors(broker):
    r = kfk(broker, "perf", "produce", "perf-x")
    assert r.returncode == 2 and "-n/--num-records" in r.stderr
    r = kfk(broker, "perf", "produce", "perf-x", "-n", "10", "--acks", "2")
    assert r.returncode == 2
    r = subprocess.run([KFK, "-b", "127.0.0.1:1", "perf", "produce", "perf-x", "-n", "10"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 4, r.stderr
    assert r.stderr.startswith("kfk perf produce: ")
    r = kfk(broker, "perf", "consume", "no-such-topic", "--timeout", "1")
    assert r.returncode == 3, r.stderr
