"""The latency histogram of kfk perf (through the hidden `kfk debug histogram`): exact count,
min, max and mean; every percentile within 1/64 of the exact nearest-rank value."""

import json
import math
import random

from test_cli import EXIT_OK, kfk


def summarise(values):
    r = kfk("debug", "histogram", input=" ".join(map(str, values)) + "\n")
    assert r.returncode == EXIT_OK, r.stderr
    return json.loads(r.stdout)


def exact(sorted_values, q):
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def check(values):
    doc = summarise(values)
    s = sorted(values)
    assert doc["count"] == len(s)
    assert doc["min"] == s[0] and doc["max"] == s[-1]
    assert abs(doc["mean"] - sum(s) / len(s)) < 0.001 + 1e-9 * sum(s) / len(s)
    for key, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p99_9", 0.999), ("p100", 1.0)):
        want = exact(s, q)
        got = doc[key]
        assert want <= got <= max(want, want + want / 64), (key, want, got)


def test_small_values_are_exact():
    values = list(range(128)) * 3
    doc = summarise(values)
    assert doc["p50"] == exact(sorted(values), 0.5)
    assert doc["p99"] == exact(sorted(values), 0.99)


def test_latency_like_distributions():
    rng = random.Random(7)
    check([int(rng.lognormvariate(7, 1.2)) for _ in range(20000)])  # around 1 ms, long tail
    check([rng.randrange(1, 10**9) for _ in range(5000)])
    check([5] * 1000 + [10**7])


def test_empty():
    doc = summarise([])
    assert doc["count"] == 0 and doc["p99"] == 0


def test_json_bytes():
    """The exact line: the mean with three decimals, 64-bit unsigned values as they are."""
    r = kfk("debug", "histogram", input="1 2 3 4\n")
    assert r.stdout == ('{"count":4,"min":1,"max":4,"mean":2.500,"p50":2,"p95":4,"p99":4,'
                        '"p99_9":4,"p100":4}\n')
    r = kfk("debug", "histogram", input="18446744073709551615\n")
    top = 18446744073709551615
    assert r.stdout == (f'{{"count":1,"min":{top},"max":{top},"mean":18446744073709551616.000,'
                        f'"p50":{top},"p95":{top},"p99":{top},"p99_9":{top},"p100":{top}}}\n')
