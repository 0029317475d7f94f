"""Client runs: kcat, confluent-kafka-python and kafka-python."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

from wire import APIS, API_BY_NAME, log


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------
TOPIC = "golden"
LEGACY_MIN = {API_BY_NAME["Produce"]: 0, API_BY_NAME["Fetch"]: 0}
PRODUCE_CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
KCAT_HEADERS = [("h1", "v1"), ("trace", "golden")]
TAIL = "abcdefgh" * 16


def kcat_records(codec):
    return [(f"key-{i}", f"value-{i} codec={codec}") for i in (1, 2)] + \
           [("key-3", f"value-3 codec={codec} {TAIL}")]


def kafka_python_records(codec):
    return [
        {"key": "kp-key-1", "value": f"kp-value-1 codec={codec}", "headers": [["h1", "v1"]]},
        {"key": None, "value": f"kp-value-2 null key codec={codec}", "headers": []},
        {"key": "kp-key-3", "value": f"kp-value-3 codec={codec} {TAIL}",
         "headers": [["h1", "v1"], ["h2", "v2"]]},
    ]


CONFLUENT_RECORDS = [
    {"key": "ck-key-1", "value": "ck-value-1", "headers": [["h1", "v1"]]},
    {"key": None, "value": "ck-value-2 null key", "headers": []},
    {"key": "ck-key-3", "value": f"ck-value-3 {TAIL}", "headers": [["h1", "v1"], ["h2", "v2"]]},
]

CONFLUENT_ADMIN = r"""
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
fs = a.create_topics([NewTopic("golden-created-ck", num_partitions=1, replication_factor=1,
                               config={"retention.ms": "3600000"})], request_timeout=10)
for t, f in fs.items():
    f.result(timeout=10)
    print("created", t)
"""

CONFLUENT_PRODUCER = r"""
import json, sys
from confluent_kafka import Producer
recs = json.loads(sys.argv[2])
p = Producer({"bootstrap.servers": sys.argv[1], "enable.idempotence": True, "linger.ms": 100})
delivered = []
for r in recs:
    p.produce("golden", key=r["key"], value=r["value"], partition=0,
              headers=[(k, v.encode()) for k, v in r["headers"]],
              on_delivery=lambda err, msg: delivered.append(err))
left = p.flush(10)
print("delivered", len(delivered), "errors", [str(e) for e in delivered if e], "left", left)
"""

CONFLUENT_CONSUMER = r"""
import sys, time
from confluent_kafka import Consumer, TopicPartition, KafkaError
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "golden-ck-group",
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "enable.partition.eof": True, "heartbeat.interval.ms": 500,
              "session.timeout.ms": 6000})
c.subscribe(["golden"])
deadline = time.time() + 8
next_offset = 0
eof = False
while time.time() < deadline and not eof:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        eof = m.error().code() == KafkaError._PARTITION_EOF
        continue
    next_offset = m.offset() + 1
time.sleep(1.5)  # stay in the group long enough for heartbeats
c.commit(offsets=[TopicPartition("golden", 0, next_offset)], asynchronous=False)
print("committed", c.committed([TopicPartition("golden", 0)], timeout=5))
c.close()
print("consumed up to", next_offset)
"""

KAFKA_PYTHON_ADMIN = r"""
import sys
from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=10000)
a.create_topics([NewTopic("golden-created-kp", 1, 1, topic_configs={"retention.ms": "3600000"})],
                timeout_ms=10000)
print("api_version", a.config["api_version"])
a.close()
"""

KAFKA_PYTHON_PRODUCER = r"""
import json, sys
from kafka import KafkaProducer
codec = sys.argv[2]
recs = json.loads(sys.argv[3])
p = KafkaProducer(bootstrap_servers=sys.argv[1], linger_ms=100, acks="all",
                  compression_type=None if codec == "none" else codec)
futs = [p.send("golden", partition=0,
               key=r["key"].encode() if r["key"] is not None else None,
               value=r["value"].encode(),
               headers=[(k, v.encode()) for k, v in r["headers"]]) for r in recs]
p.flush(10)
print("offsets", [f.get(timeout=5).offset for f in futs])
print("api_version", p.config["api_version"])
p.close(5)
"""

KAFKA_PYTHON_CONSUMER = r"""
import sys
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
c = KafkaConsumer("golden", bootstrap_servers=sys.argv[1], group_id="golden-kp-group",
                  auto_offset_reset="earliest", enable_auto_commit=False,
                  heartbeat_interval_ms=500, session_timeout_ms=10000,
                  consumer_timeout_ms=3000)
n = 0
next_offset = 0
for m in c:
    n += 1
    next_offset = m.offset + 1
tp = TopicPartition("golden", 0)
c.commit({tp: OffsetAndMetadata(next_offset, "")})
print("committed", c.committed(tp))
print("consumed", n, "api_version", c.config["api_version"])
c.close()
"""


class Driver:
    def __init__(self, out_dir, python, timeout, verbose):
        self.out_dir = out_dir
        self.python = python
        self.timeout = timeout
        self.verbose = verbose
        self.steps: list[dict] = []

    def run(self, listener, step, cmd, stdin=None, interrupt_after=None, min_override=None):
        """Run one client command, bounded by the timeout; never raises."""
        listener.step = step
        listener.min_override = dict(min_override or {})
        shown = " ".join(c if len(c) < 60 and "\n" not in c else "<script>" for c in cmd)
        log(f"[{listener.client}] step {step}: {shown}")
        rec = {"client": listener.client, "step": step}
        if min_override:
            rec["advertised_min_override"] = {APIS[k][0]: v for k, v in sorted(min_override.items())}
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            rec.update(ok=False, error=str(e))
            self.steps.append(rec)
            return rec
        try:
            if interrupt_after is not None:
                if stdin is not None:
                    p.stdin.write(stdin.encode())
                p.stdin.close()
                p.stdin = None
                try:
                    p.wait(timeout=interrupt_after)
                except subprocess.TimeoutExpired:
                    p.send_signal(signal.SIGINT)  # clean shutdown: commit + leave group
                out, err = p.communicate(timeout=self.timeout)
            else:
                out, err = p.communicate(stdin.encode() if stdin is not None else None,
                                         timeout=self.timeout)
            rec.update(ok=p.returncode == 0, returncode=p.returncode)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            out, err = p.communicate()
            rec.update(ok=False, error=f"timed out after {self.timeout}s")
        rec_seconds = round(time.monotonic() - t0, 1)
        out_s = out.decode(errors="replace").strip()
        err_s = err.decode(errors="replace").strip()
        log(f"[{listener.client}] step {step} finished in {rec_seconds}s")
        if self.verbose or not rec["ok"]:
            if out_s:
                log(f"[{listener.client}] {step} stdout:\n{out_s[-2000:]}")
            if err_s:
                log(f"[{listener.client}] {step} stderr:\n{err_s[-2000:]}")
        rec["stdout_tail"] = out_s[-500:]
        if not rec["ok"]:
            log(f"[{listener.client}] step {step} FAILED: {rec.get('error') or rec.get('returncode')}")
        listener.close_connections()
        listener.min_override = {}
        time.sleep(0.2)
        self.steps.append(rec)
        return rec

    # -- client versions ----------------------------------------------------
    def probe(self, cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=self.timeout)
            return r.stdout.decode(errors="replace").strip() if r.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            return None

    def kcat_info(self):
        if not shutil.which("kcat"):
            return None
        out = self.probe(["kcat", "-V"]) or ""
        version, lib = None, None
        for line in out.splitlines():
            if line.startswith("Version "):
                version = line.split()[1]
                if "librdkafka " in line:
                    lib = line.split("librdkafka ")[1].split()[0]
        return {"version": f"kcat {version}", "library": f"librdkafka {lib}"}

    def confluent_info(self):
        out = self.probe([self.python, "-c",
                          "import confluent_kafka as c; print(c.version()[0], c.libversion()[0])"])
        if not out:
            return None
        py, lib = out.split()
        return {"version": f"confluent-kafka-python {py}", "library": f"librdkafka {lib}"}

    def kafka_python_info(self):
        out = self.probe([self.python, "-c", "import kafka; print(kafka.__version__)"])
        if not out:
            return None
        codecs = {}
        for mod, codec in (("snappy", "snappy"), ("lz4.frame", "lz4"), ("zstandard", "zstd")):
            codecs[codec] = self.probe([self.python, "-c", f"import {mod}"]) is not None
        return {"version": f"kafka-python {out}", "library": f"kafka-python {out}", "codecs": codecs}

    # -- client runs --------------------------------------------------------
    def run_kcat(self, lst):
        bs = lst.bootstrap
        self.run(lst, "metadata", ["kcat", "-b", bs, "-L"])
        for codec in PRODUCE_CODECS:
            lines = "".join(f"{k}:{v}\n" for k, v in kcat_records(codec))
            cmd = ["kcat", "-b", bs, "-P", "-t", TOPIC, "-p", "0", "-z", codec, "-K:",
                   "-X", "linger.ms=100"]
            for hk, hv in KCAT_HEADERS:
                cmd += ["-H", f"{hk}={hv}"]
            # librdkafka < 2.8 only compresses with gzip/snappy/lz4 when the
            # broker's Produce range includes v2 (librdkafka issue #4956), so
            # these steps advertise the pre-4.0 minimums; the Produce request
            # itself is still v7.
            legacy = LEGACY_MIN if codec in ("gzip", "snappy", "lz4") else None
            self.run(lst, f"produce-{codec}", cmd, stdin=lines, min_override=legacy)
        self.run(lst, "consume", ["kcat", "-b", bs, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning",
                                  "-e", "-f", "%o %k %s\n"])
        self.run(lst, "group-consume",
                 ["kcat", "-b", bs, "-G", "golden-kcat-group", TOPIC,
                  "-X", "auto.offset.reset=earliest", "-X", "heartbeat.interval.ms=500",
                  "-X", "auto.commit.interval.ms=500", "-f", "%o %k %s\n"],
                 interrupt_after=5)

    def run_confluent(self, lst):
        bs = lst.bootstrap
        self.run(lst, "admin-create-topics", [self.python, "-c", CONFLUENT_ADMIN, bs])
        self.run(lst, "idempotent-produce",
                 [self.python, "-c", CONFLUENT_PRODUCER, bs, json.dumps(CONFLUENT_RECORDS)])
        self.run(lst, "group-consume-commit", [self.python, "-c", CONFLUENT_CONSUMER, bs])

    def run_kafka_python(self, lst, info):
        bs = lst.bootstrap
        self.run(lst, "admin-create-topics", [self.python, "-c", KAFKA_PYTHON_ADMIN, bs])
        for codec in PRODUCE_CODECS:
            if codec not in ("none", "gzip") and not info["codecs"].get(codec):
                log(f"[kafka-python] skipping {codec}: codec module not importable")
                self.steps.append({"client": "kafka-python", "step": f"produce-{codec}", "ok": False,
                                   "error": "codec module not importable"})
                continue
            self.run(lst, f"produce-{codec}",
                     [self.python, "-c", KAFKA_PYTHON_PRODUCER, bs, codec,
                      json.dumps(kafka_python_records(codec))])
        self.run(lst, "group-consume-commit", [self.python, "-c", KAFKA_PYTHON_CONSUMER, bs])


CLIENTS = ["kcat", "confluent-kafka-python", "kafka-python"]


def produced_data():
    return {
        "kcat": {
            "topic": TOPIC, "partition": 0,
            "headers_on_every_record": [list(h) for h in KCAT_HEADERS],
            "by_codec": {c: [{"key": k, "value": v} for k, v in kcat_records(c)] for c in PRODUCE_CODECS},
        },
        "confluent-kafka-python": {"topic": TOPIC, "partition": 0, "idempotent": True,
                                   "records": CONFLUENT_RECORDS},
        "kafka-python": {"topic": TOPIC, "partition": 0,
                         "by_codec": {c: kafka_python_records(c) for c in PRODUCE_CODECS}},
    }
