"""Every script in examples/ runs against a broker (KFK_BROKERS) with kfk on PATH, and does
what its header says."""

import json
import os
import subprocess

from conftest import KFK, ROOT

EXAMPLES = os.path.join(ROOT, "examples")


def run(broker, script, *args, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("KFK_BROKERS", "KFK_PROFILE")}
    env["KFK_BROKERS"] = broker.bootstrap
    env["PATH"] = f"{os.path.dirname(KFK)}:{env['PATH']}"
    env["XDG_CONFIG_HOME"] = os.path.join(broker.data_dir, "config")  # no profile of the user
    env.update(env_extra or {})
    r = subprocess.run([os.path.join(EXAMPLES, script), *args], capture_output=True, text=True,
                       env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"{script}: {r.stdout}\n{r.stderr}"
    return r


def kfk(broker, *args):
    r = subprocess.run([KFK, "-b", broker.bootstrap, *args], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return r


def consume_all(broker, topic):
    out = kfk(broker, "consume", topic, "--offset", ":end", "--format", "json").stdout
    return [json.loads(line) for line in out.splitlines()]


def test_every_example_is_tested():
    scripts = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".sh"))
    assert scripts == ["benchmark.sh", "csv-to-topic.sh", "reset-group.sh", "tail-as-json.sh"]
    for s in scripts:
        assert os.access(os.path.join(EXAMPLES, s), os.X_OK), s


def test_csv_to_topic(broker):
    r = run(broker, "csv-to-topic.sh")
    assert "Loaded 6 rows into cities" in r.stdout
    records = consume_all(broker, "cities")
    by_key = {rec["key"]: rec["value"] for rec in records}
    assert len(records) == 6
    assert by_key["Lisbon"] == {"city": "Lisbon", "country": "Portugal", "population": "545923"}
    # Same key, same partition: a second load lands each city where the first one did.
    run(broker, "csv-to-topic.sh")
    records = consume_all(broker, "cities")
    partitions = {}
    for rec in records:
        partitions.setdefault(rec["key"], set()).add(rec["partition"])
    assert len(records) == 12 and all(len(p) == 1 for p in partitions.values())


def test_tail_as_json(broker):
    run(broker, "csv-to-topic.sh", os.path.join(EXAMPLES, "data", "cities.csv"), "tail-topic")
    r = run(broker, "tail-as-json.sh", "--once", "tail-topic", "1")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    # The last record of each of the 3 partitions (each got at least one of the 6 cities).
    assert len(lines) == len({rec["partition"] for rec in consume_all(broker, "tail-topic")})
    assert all(set(rec) >= {"topic", "partition", "offset", "key", "value", "headers"}
               for rec in lines)
    assert all(isinstance(rec["value"], dict) for rec in lines)


def test_reset_group(broker):
    run(broker, "csv-to-topic.sh", os.path.join(EXAMPLES, "data", "cities.csv"), "reset-topic")
    kfk(broker, "consume", "reset-topic", "--group", "readers", "--offset", "earliest", "-e")
    r = run(broker, "reset-group.sh", "readers", "reset-topic", "earliest")
    before, after = r.stdout.split("== after")
    assert "LAG" in before and "== plan" in before and "== applying" in before
    described = json.loads(kfk(broker, "--output", "json", "group", "describe", "readers").stdout)
    offsets = described[0]["offsets"]
    assert offsets and all(o["committed_offset"] == 0 for o in offsets)
    assert sum(o["lag"] for o in offsets) == 6
    run(broker, "reset-group.sh", "readers", "reset-topic", "latest")
    described = json.loads(kfk(broker, "--output", "json", "group", "describe", "readers").stdout)
    assert sum(o["lag"] for o in described[0]["offsets"]) == 0


def test_benchmark(broker):
    r = run(broker, "benchmark.sh", "bench-topic", "3000", "256", env_extra={"OUTPUT": "json"})
    produce, consume, e2e = [json.loads(line) for line in r.stdout.splitlines()]
    assert produce["mode"] == "produce" and produce["records"] == 3000
    assert consume["mode"] == "consume" and consume["records"] == 3000
    assert e2e["mode"] == "e2e" and e2e["records"] > 2000 and "latency_ms" in e2e
    r = run(broker, "benchmark.sh", "bench-topic", "1000", "256")
    assert "== produce" in r.stdout and "Latency (produce to consume)" in r.stdout
