"""kfk debug verify-log: partition directories and log dirs built here byte by byte (the batch
builder of test_dump_log.py), intact and with damage in the middle, at the end of a sealed
segment and as a torn tail; the JSON shape, the text report and the exit codes."""

import json

from test_cli import EXIT_ERROR, EXIT_OK, kfk
from test_dump_log import batch

EXIT_DAMAGED = 6


def make_partition(root, name="orders-0", segments=((0, 5), (10, 5)), records=2):
    """A partition directory: per segment (base offset, batch count) of `records` records."""
    pdir = root / name
    pdir.mkdir(parents=True)
    files = {}
    for base, count in segments:
        data = b"".join(batch(base + i * records, [(None, b"v" * 50, [])] * records)
                        for i in range(count))
        path = pdir / f"{base:020d}.log"
        path.write_bytes(data)
        files[base] = path
    return pdir, files


def flip(path, at, n=64):
    data = bytearray(path.read_bytes())
    for i in range(at, at + n):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))


def verify(*paths):
    r = kfk("-o", "json", "debug", "verify-log", *map(str, paths))
    return r, json.loads(r.stdout) if r.stdout else None


def batch_size(records=2):
    return len(batch(0, [(None, b"v" * 50, [])] * records))


def test_intact_partition_and_log_dir(tmp_path):
    make_partition(tmp_path, "orders-0")
    make_partition(tmp_path, "orders-1")
    r, doc = verify(tmp_path)
    assert r.returncode == EXIT_OK, r.stderr
    assert [(p["topic"], p["partition"], p["ok"]) for p in doc] == [("orders", 0, True),
                                                                    ("orders", 1, True)]
    assert doc[0]["segments"] == 2 and doc[0]["batches"] == 10 and doc[0]["records"] == 20
    assert doc[0]["damaged"] == []
    r = kfk("-o", "table", "debug", "verify-log", str(tmp_path / "orders-0"))
    assert r.returncode == EXIT_OK
    assert r.stdout.splitlines()[0].split() == ["PARTITION", "SEGMENTS", "BATCHES", "RECORDS",
                                                "SIZE", "STATUS"]
    assert r.stdout.splitlines()[1].split()[-1] == "ok"


def test_damage_in_the_middle_is_reported_with_the_offsets_around_it(tmp_path):
    pdir, files = make_partition(tmp_path)
    size = batch_size()
    flip(files[0], 2 * size + 20)  # inside the third batch (offsets 4..5)
    r, doc = verify(f"{pdir}/")
    assert r.returncode == EXIT_DAMAGED, r.stderr
    [p] = doc
    assert (p["topic"], p["partition"]) == ("orders", 0)
    assert not p["ok"] and p["batches"] == 9
    [d] = p["damaged"]
    assert d["segment"].endswith("00000000000000000000.log")
    assert (d["start_position"], d["end_position"], d["size"]) == (2 * size, 3 * size, size)
    assert (d["first_offset"], d["next_offset"], d["torn_tail"]) == (4, 6, False)
    assert "crc" in d["reason"].lower() or "CRC" in d["reason"]
    text = kfk("-o", "table", "debug", "verify-log", str(pdir))
    assert text.returncode == EXIT_DAMAGED
    assert "offsets 4..5 cannot be read" in text.stdout
    assert "kfk topic trim orders -p 0 --offset 6" in text.stdout
    assert "damaged" in text.stderr


def test_damage_ending_a_sealed_segment_reaches_the_next_segment(tmp_path):
    pdir, files = make_partition(tmp_path)
    size = batch_size()
    flip(files[0], 4 * size + 5)  # the last batch of the first segment
    r, doc = verify(tmp_path)
    assert r.returncode == EXIT_DAMAGED
    [d] = doc[0]["damaged"]
    assert (d["first_offset"], d["next_offset"], d["torn_tail"]) == (8, 10, False)
    assert d["end_position"] == 5 * size


def test_torn_tail_of_the_last_segment(tmp_path):
    pdir, files = make_partition(tmp_path)
    data = files[10].read_bytes()
    files[10].write_bytes(data[:-7])
    r, doc = verify(pdir)
    assert r.returncode == EXIT_DAMAGED
    [d] = doc[0]["damaged"]
    assert d["torn_tail"] is True and d["first_offset"] == 18 and d["next_offset"] is None


def test_not_a_log_dir(tmp_path):
    r, _ = verify(tmp_path / "missing")
    assert r.returncode == EXIT_ERROR and "no such directory" in r.stderr
    (tmp_path / "empty").mkdir()
    r, _ = verify(tmp_path / "empty")
    assert r.returncode == EXIT_ERROR and "no segment files" in r.stderr
