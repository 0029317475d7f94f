#!/usr/bin/python3
"""Measures the log cleaner on this machine and records the figures in docs/benchmarks.md
(the section between the compaction-bench markers is replaced; the rest stays).

One broker on loopback. A topic of 1 KiB records with 100,000 distinct keys (1 GiB by
default) is written with cleanup.policy=delete, then switched to compact: the cleaner's first
cleaning reads the whole log twice (the key map, then the copy). Reported: the cleaner's read
rate (bytes read / duration, from the broker's log line), what it wrote, the broker's resident
memory before and at its peak during the cleaning next to the dedupe buffer, and the end-to-end
latency (librdkafka, 20,000 records/s, 8 partitions) on another topic while idle and during the
cleaning. It reports figures; it never fails because a target is missed.

Environment: KFK_BENCH_BUILD_DIR (default build/release, built by `make build`),
KFK_BENCH_DIR (scratch, default a new directory in /var/tmp), KFK_BENCH_COMPACT_MB (default
1024), KFK_BENCH_DOC (default docs/benchmarks.md; "-" prints the section only).
"""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("KFK_BENCH_BUILD_DIR", "build/release"))
KFK = os.path.join(BUILD, "src", "cli", "kfk")
TOOL = os.path.join(BUILD, "bench", "rdkafka_bench")
MB = int(os.environ.get("KFK_BENCH_COMPACT_MB", "1024"))
DOC = os.environ.get("KFK_BENCH_DOC", os.path.join(ROOT, "docs", "benchmarks.md"))
KEYS = 100_000
RECORD = 1024
DEDUPE = 128 << 20  # log.cleaner.dedupe.buffer.size, Kafka's default
# Eight segments or so: the last one, active, is not cleaned.
SEGMENT = max(1 << 20, (MB << 20) // 8)
BEGIN, END = "<!-- compaction-bench:begin -->", "<!-- compaction-bench:end -->"


def log(msg):
    print(f"[compaction-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def latency(broker, topic, seconds):
    out = subprocess.run([TOOL, "latency", "--brokers", broker, "--topic", topic, "--rate", "20000",
                          "--seconds", str(seconds), "--size", "1024", "--partitions", "8"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

    if not os.access(KFK, os.X_OK):
        sys.exit(f"compaction-bench: no kfk at {KFK} (run `make build`)")
    if not os.access(TOOL, os.X_OK) or os.path.getmtime(TOOL) < os.path.getmtime(
            os.path.join(ROOT, "bench", "rdkafka_bench.cpp")):
        os.makedirs(os.path.dirname(TOOL), exist_ok=True)
        subprocess.run(["c++", "-O2", "-std=c++20", "-o", TOOL,
                        os.path.join(ROOT, "bench", "rdkafka_bench.cpp"), "-lrdkafka", "-lpthread"],
                       check=True)
    work = os.environ.get("KFK_BENCH_DIR") or tempfile.mkdtemp(prefix="kfk-compaction.", dir="/var/tmp")
    broker_log = open(os.path.join(work, "broker.log"), "w")
    proc = subprocess.Popen([KFK, "-v", "server", "start", "--set", "listeners=PLAINTEXT://127.0.0.1:0",
                             "--set", f"log.dirs={work}/logs", "--set", "log.cleaner.backoff.ms=200",
                             "--set", f"log.cleaner.dedupe.buffer.size={DEDUPE}"],
                            stdout=subprocess.PIPE, stderr=broker_log, text=True)
    try:
        broker = None
        for line in proc.stdout:
            m = re.search(r"listening on (\S+)", line)
            if m:
                broker = m.group(1)
                break
        assert broker, "the broker did not start"
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        admin = AdminClient({"bootstrap.servers": broker})
        for name, parts, cfg in (("compacted", 1, {"cleanup.policy": "delete",
                                                    "segment.bytes": str(SEGMENT)}),
                                 ("other", 8, {})):
            admin.create_topics([NewTopic(name, parts, 1, config=cfg)])[name].result(30)

        records = MB * 1024 * 1024 // RECORD
        log(f"producing {records} records of {RECORD} bytes over {KEYS} keys")
        p = Producer({"bootstrap.servers": broker, "linger.ms": 20, "batch.size": 1 << 20,
                      "queue.buffering.max.kbytes": 1 << 20, "acks": 1})
        payload = os.urandom(RECORD - 16)
        for i in range(records):
            while True:
                try:
                    p.produce("compacted", key=b"key-%08d" % (i % KEYS), value=payload + b"%016d" % i)
                    break
                except BufferError:
                    p.poll(0.05)
        assert p.flush(300) == 0
        log_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in
                        os.walk(os.path.join(work, "logs", "compacted-0")) for f in fs if f.endswith(".log"))

        log("idle latency")
        idle = latency(broker, "other", 10)
        rss_before = rss_kib(proc.pid)

        log("switching to cleanup.policy=compact")
        res = ConfigResource(ConfigResource.Type.TOPIC, "compacted",
                             set_config={"cleanup.policy": "compact", "segment.bytes": str(SEGMENT)})
        peak = [rss_before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(proc.pid))
                time.sleep(0.05)
        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.monotonic()
        admin.alter_configs([res])[res].result(30)
        during = latency(broker, "other", 8)
        line = None
        while time.monotonic() - t0 < 600 and not line:
            for l in open(os.path.join(work, "broker.log")):
                if "log cleaner: cleaned compacted-0" in l:
                    line = l
            time.sleep(0.2)
        done.set()
        sampler.join()
        assert line, "no cleaning of compacted-0 within 10 minutes"
        m = re.search(r"([\d.]+) MB read, ([\d.]+) MB written in (\d+) ms", line)
        read_mb, written_mb, ms = float(m.group(1)), float(m.group(2)), int(m.group(3))
        rate = read_mb / (ms / 1000)

        cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True,
                             text=True).stdout.strip()
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        section = "\n".join([
            BEGIN,
            "## Log compaction (bench/compaction-bench.py)",
            "",
            f"Machine: {os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, {platform.platform()}; "
            f"measured {time.strftime('%Y-%m-%d')}.",
            "",
            f"One partition of {log_bytes / 2**20:.0f} MiB ({records:,} records of {RECORD} bytes, "
            f"{KEYS:,} keys), {SEGMENT >> 20} MiB segments, written with cleanup.policy=delete and then switched "
            "to compact; one cleaner thread, 128 MiB dedupe buffer, no I/O cap. The first cleaning "
            "reads the log twice (key map, then copy).",
            "",
            "| figure | value | target |",
            "|---|---|---|",
            f"| cleaner read rate | {rate:.0f} MB/s ({read_mb:.0f} MB read in {ms / 1000:.1f} s) | >= 200 MB/s |",
            f"| written | {written_mb:.0f} MB | |",
            f"| broker RSS before / peak during cleaning | {rss_before / 1024:.0f} / {peak[0] / 1024:.0f} MiB "
            f"(dedupe buffer {DEDUPE >> 20} MiB) | bounded by the buffer |",
            f"| e2e latency p50 / p99 / p99.9 / max on another topic, idle | {idle['p50_ms']:.2f} / "
            f"{idle['p99_ms']:.2f} / {idle['p999_ms']:.2f} / {idle['max_ms']:.2f} ms | |",
            f"| the same from the switch to compact (8 s, the cleaning inside) | {during['p50_ms']:.2f} / "
            f"{during['p99_ms']:.2f} / {during['p999_ms']:.2f} / {during['max_ms']:.2f} ms | p99 within 2x idle |",
            "",
            "Latency: librdkafka (bench/rdkafka_bench.cpp latency mode), 20,000 records/s of 1 KiB over "
            "8 partitions, linger.ms 0, for 10 s idle and 8 s from the switch to compact; the "
            f"cleaning took {ms / 1000:.1f} s of those 8 s, so p99 (the slowest 1% of samples) "
            "covers it whenever it lasts longer than 0.08 s. Load average before the run: "
            f"{os.getloadavg()[0]:.2f} (other work shared the machine).",
            END,
        ])
        print(section)
        if DOC != "-":
            text = open(DOC).read() if os.path.exists(DOC) else "# Benchmarks\n"
            if BEGIN in text:
                text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
            else:
                text = text.rstrip("\n") + "\n\n" + section + "\n"
            open(DOC, "w").write(text)
            log(f"wrote {DOC}")
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
