"""kfk debug dump-log: segment and index files built here byte by byte (RecordBatch v2 with
CRC32C, Kafka's index layouts), decoded as text and JSON, and damaged files that must give a
clear error, never a crash."""

import gzip
import json
import struct
import subprocess

from test_cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, KFK, kfk


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    n = (n << 1) ^ (n >> 63)  # zigzag
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def nullable(b):
    return varint(-1) if b is None else varint(len(b)) + b


def record(offset_delta, ts_delta, key, value, headers=()):
    body = bytes([0]) + varint(ts_delta) + varint(offset_delta) + nullable(key) + nullable(value)
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk + nullable(hv)
    return varint(len(body)) + body


def batch(base_offset, records, base_ts=1_700_000_000_000, codec=0, producer_id=-1,
          producer_epoch=-1, base_sequence=-1, leader_epoch=0):
    """records: list of (key, value, headers)."""
    raw = b"".join(record(i, i, k, v, h) for i, (k, v, h) in enumerate(records))
    if codec == 1:
        raw = gzip.compress(raw)
    attributes = codec
    after_crc = struct.pack(">hiqqqhii", attributes, len(records) - 1, base_ts,
                            base_ts + len(records) - 1, producer_id, producer_epoch,
                            base_sequence, len(records)) + raw
    crc = crc32c(after_crc)
    body = struct.pack(">ibI", leader_epoch, 2, crc) + after_crc
    return struct.pack(">qi", base_offset, len(body)) + body


def segment(path, batches):
    data = b"".join(batches)
    path.write_bytes(data)
    return data


def dump(*args):
    return kfk("debug", "dump-log", *map(str, args))


def dump_json(*args):
    r = kfk("-o", "json", "debug", "dump-log", *map(str, args))
    return r, json.loads(r.stdout)


def sample_segment(tmp_path):
    path = tmp_path / "00000000000000000100.log"
    first = batch(100, [(b"k1", b"v1", [(b"h", b"x")]), (None, b"v2", [])],
                  producer_id=7, producer_epoch=1, base_sequence=0)
    second = batch(102, [(b"k3", b"\x00\xffbin", []), (b"k4", None, [])], codec=1)
    segment(path, [first, second])
    return path, len(first), len(second)


def test_log_text_lists_batches(tmp_path):
    path, first_size, second_size = sample_segment(tmp_path)
    r = dump(path)
    assert r.returncode == EXIT_OK, r.stderr
    lines = r.stdout.splitlines()
    assert "base offset 100" in lines[0]
    assert lines[1].startswith("baseOffset: 100 lastOffset: 101 count: 2 baseSequence: 0 "
                               "lastSequence: 1 producerId: 7 producerEpoch: 1")
    assert f"position: 0 CreateTime: 1700000000001 size: {first_size}" in lines[1]
    assert "compresscodec: none crcValid: true" in lines[1]
    assert lines[2].startswith("baseOffset: 102 lastOffset: 103 count: 2")
    assert f"position: {first_size} " in lines[2]
    assert "compresscodec: gzip crcValid: true" in lines[2]
    assert lines[-1] == f"2 batches, 4 records, {first_size + second_size} valid bytes"


def test_log_deep_prints_records(tmp_path):
    path, _, _ = sample_segment(tmp_path)
    r = dump("--deep", path)
    assert r.returncode == EXIT_OK, r.stderr
    lines = r.stdout.splitlines()
    # Each batch line comes first, then its records.
    assert lines[1].startswith("baseOffset: 100 ") and lines[2].startswith("| offset: 100 ")
    assert lines[4].startswith("baseOffset: 102 ") and lines[5].startswith("| offset: 102 ")
    records = [line for line in lines if line.startswith("| ")]
    assert len(records) == 4
    assert records[0].startswith("| offset: 100 CreateTime: 1700000000000 keySize: 2 valueSize: 2 "
                                 "sequence: 0 headers: [h=x] key: k1 payload: v1")
    assert "keySize: -1" in records[1] and "key: null payload: v2" in records[1]
    assert "payload: \\x00\\xffbin" in records[2]
    assert "valueSize: -1" in records[3] and "payload: null" in records[3]


def test_log_json_shape(tmp_path):
    path, first_size, second_size = sample_segment(tmp_path)
    r, doc = dump_json("--deep", path)
    assert r.returncode == EXIT_OK, r.stderr
    assert doc["type"] == "log" and doc["base_offset"] == 100 and doc["error"] is None
    assert doc["batch_count"] == 2 and doc["record_count"] == 4
    assert doc["valid_bytes"] == first_size + second_size == doc["size"]
    b0, b1 = doc["batches"]
    assert (b0["base_offset"], b0["last_offset"], b0["count"], b0["position"]) == (100, 101, 2, 0)
    assert b0["crc_valid"] is True and b0["compression"] == "none"
    assert (b0["producer_id"], b0["producer_epoch"], b0["base_sequence"]) == (7, 1, 0)
    assert b0["timestamp_type"] == "CreateTime" and b0["max_timestamp"] == 1_700_000_000_001
    assert b1["compression"] == "gzip" and b1["position"] == first_size
    rec = b0["records"][0]
    assert rec["offset"] == 100 and rec["key"] == "k1" and rec["value"] == "v1"
    assert rec["headers"] == [{"key": "h", "value": "x"}]
    assert b1["records"][0]["value_base64"] == "AP9iaW4="
    assert b1["records"][1]["value"] is None


def test_log_json_bytes(tmp_path):
    """The exact JSON line: string escapes (control characters as \\u00XX, DEL and UTF-8 as
    they are), null and empty fields, base64 for other bytes, a batch problem, key order."""
    path = tmp_path / "00000000000000000007.log"
    after_crc = struct.pack(">hiqqqhii", 0, 0, 1, 1, -1, -1, -1, 1) + b"\x7f\x7f\x7f"
    bad_records = struct.pack(">ibI", 0, 2, crc32c(after_crc)) + after_crc
    records = [(b'k"\\', b"\x01\x1f\x7f\xc3\xa9\n\t\r/", [(b"h\x02", b"\xff"), (b"n", None)]),
               (None, None, []), (b"\xff", b'{"a":1}', [])]
    segment(path, [batch(7, records, producer_id=3, producer_epoch=0, base_sequence=5),
                   struct.pack(">qi", 10, len(bad_records)) + bad_records])
    r = subprocess.run([str(KFK), "-o", "json", "debug", "dump-log", "--deep", str(path)],
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    assert r.returncode == EXIT_OK, r.stderr
    first = (
        b'{"base_offset":7,"last_offset":9,"count":3,"position":0,"size":110,"magic":2,'
        b'"crc":3358223738,"crc_valid":true,"compression":"none","timestamp_type":"CreateTime",'
        b'"base_timestamp":1700000000000,"max_timestamp":1700000000002,"producer_id":3,'
        b'"producer_epoch":0,"base_sequence":5,"last_sequence":7,"partition_leader_epoch":0,'
        b'"is_transactional":false,"is_control":false,"records":['
        b'{"offset":7,"timestamp":1700000000000,"sequence":5,"key_size":3,"value_size":9,'
        b'"key":"k\\"\\\\","value":"\\u0001\\u001f\x7f\xc3\xa9\\n\\t\\r/",'
        b'"headers":[{"key":"h\\u0002","value_base64":"/w=="},{"key":"n","value":null}]},'
        b'{"offset":8,"timestamp":1700000000001,"sequence":6,"key_size":-1,"value_size":-1,'
        b'"key":null,"value":null,"headers":[]},'
        b'{"offset":9,"timestamp":1700000000002,"sequence":7,"key_size":1,"value_size":7,'
        b'"key_base64":"/w==","value":"{\\"a\\":1}","headers":[]}]}')
    second = (
        b'{"base_offset":10,"last_offset":10,"count":1,"position":110,"size":64,"magic":2,'
        b'"crc":3076330667,"crc_valid":true,"compression":"none","timestamp_type":"CreateTime",'
        b'"base_timestamp":1,"max_timestamp":1,"producer_id":-1,"producer_epoch":-1,'
        b'"base_sequence":-1,"last_sequence":-1,"partition_leader_epoch":0,'
        b'"is_transactional":false,"is_control":false,"problem":"invalid batch header in field '
        b"'recordsCount': 1 records cannot fit in 3 bytes\",\"records\":[]}")
    assert r.stdout == (
        b'{"file":"' + str(path).encode() + b'","type":"log","base_offset":7,"size":174,'
        b'"batches":[' + first + b"," + second + b'],"batch_count":2,"record_count":4,'
        b'"crc_failures":0,"valid_bytes":174,"error":null}\n')

    index = tmp_path / "00000000000000000007.timeindex"
    index.write_bytes(struct.pack(">qi", 1000, 3) + struct.pack(">qi", 2000, 7))
    r = kfk("-o", "json", "debug", "dump-log", str(index))
    assert r.stdout == (
        '{"file":"' + str(index) + '","type":"time_index","base_offset":7,"size":24,'
        '"entries":[{"timestamp":1000,"offset":10},{"timestamp":2000,"offset":14}],'
        '"entry_count":2,"unused_bytes":0,"checked_against_log":false,"error":null}\n')


def test_bad_crc_is_reported_and_the_walk_goes_on(tmp_path):
    path, first_size, _ = sample_segment(tmp_path)
    data = bytearray(path.read_bytes())
    data[first_size - 1] ^= 0xFF  # last byte of the first batch's records
    path.write_bytes(bytes(data))
    r = dump(path)
    assert r.returncode == EXIT_ERROR
    lines = r.stdout.splitlines()
    assert "crcValid: false" in lines[1]
    assert "crcValid: true" in lines[2]
    assert "failed the CRC check" in r.stderr and "hint:" in r.stderr
    r, doc = dump_json(path)
    assert [b["crc_valid"] for b in doc["batches"]] == [False, True]
    assert doc["crc_failures"] == 1


def test_truncated_segment_reports_position(tmp_path):
    path, first_size, second_size = sample_segment(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: first_size + second_size // 2])
    r = dump(path)
    assert r.returncode == EXIT_ERROR
    assert f"batch at position {first_size} is {second_size} bytes" in r.stdout
    assert "truncated" in r.stderr
    r, doc = dump_json(path)
    assert len(doc["batches"]) == 1 and doc["valid_bytes"] == first_size
    assert "truncated" in doc["error"]


def test_garbage_and_torn_tails_never_crash(tmp_path):
    path, first_size, _ = sample_segment(tmp_path)
    good = path.read_bytes()[:first_size]
    cases = {
        "short_tail": good + b"\x00\x01\x02",
        "zero_tail": good + bytes(100),
        "huge_length": good + struct.pack(">qi", 5, 0x7FFFFFF0) + bytes(20),
        "bad_magic": good + struct.pack(">qiib", 5, 60, 0, 9) + bytes(60),
        "tiny_length": good + struct.pack(">qi", 5, 3) + bytes(20),
        "garbage": bytes(range(256)) * 3,
    }
    for name, data in cases.items():
        p = tmp_path / f"{name}.log"
        p.write_bytes(data)
        r = dump("--deep", p)
        assert r.returncode == EXIT_ERROR, (name, r.stdout, r.stderr)
        assert r.stderr.startswith("kfk debug dump-log: "), (name, r.stderr)
        r, doc = dump_json("--deep", p)
        assert doc["error"], name


def test_corrupt_records_inside_a_valid_frame(tmp_path):
    # The CRC is right but the records section does not parse: a problem, not a crash.
    path = tmp_path / "00000000000000000000.log"
    body_records = b"\x7f\x7f\x7f"
    after_crc = struct.pack(">hiqqqhii", 0, 0, 1, 1, -1, -1, -1, 1) + body_records
    body = struct.pack(">ibI", 0, 2, crc32c(after_crc)) + after_crc
    path.write_bytes(struct.pack(">qi", 0, len(body)) + body)
    r = dump("--deep", path)
    assert r.returncode == EXIT_OK
    assert "problem:" in r.stdout


def test_offset_index(tmp_path):
    path = tmp_path / "00000000000000000100.index"
    entries = [(0, 0), (5, 4096), (9, 8200)]
    data = b"".join(struct.pack(">ii", rel, pos) for rel, pos in entries)
    path.write_bytes(data + bytes(8 * 5))  # preallocated, zeroed slots
    r = dump(path)
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stdout.splitlines()[1:4] == ["offset: 100 position: 0", "offset: 105 position: 4096",
                                          "offset: 109 position: 8200"]
    assert "3 entries, 40 unused (zeroed) bytes at the end" in r.stdout
    r, doc = dump_json(path)
    assert doc["type"] == "offset_index" and doc["entry_count"] == 3
    assert doc["entries"][1] == {"offset": 105, "position": 4096}
    assert doc["unused_bytes"] == 40


def test_time_index(tmp_path):
    path = tmp_path / "00000000000000000000.timeindex"
    path.write_bytes(struct.pack(">qi", 1000, 3) + struct.pack(">qi", 2000, 7))
    r, doc = dump_json(path)
    assert r.returncode == EXIT_OK
    assert doc["type"] == "time_index"
    assert doc["entries"] == [{"timestamp": 1000, "offset": 3}, {"timestamp": 2000, "offset": 7}]


def test_damaged_indexes(tmp_path):
    torn = tmp_path / "00000000000000000000.index"
    torn.write_bytes(struct.pack(">ii", 0, 0) + b"\x01\x02\x03")
    r = dump(torn)
    assert r.returncode == EXIT_ERROR
    assert "not a whole 8-byte entry" in r.stderr
    unordered = tmp_path / "00000000000000000001.index"
    unordered.write_bytes(struct.pack(">ii", 5, 100) + struct.pack(">ii", 3, 200))
    r = dump(unordered)
    assert r.returncode == EXIT_ERROR
    assert "out of order" in r.stdout and "out of order" in r.stderr


def test_bad_arguments(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("x")
    r = dump(other)
    assert r.returncode == EXIT_USAGE
    assert "not a segment file" in r.stderr and "hint:" in r.stderr
    r = dump(tmp_path / "00000000000000000000.log")
    assert r.returncode == EXIT_ERROR
    assert "no such file" in r.stderr
    empty = tmp_path / "00000000000000000000.log"
    empty.write_bytes(b"")
    r = dump(empty)
    assert r.returncode == EXIT_OK
    assert "0 batches, 0 records, 0 valid bytes" in r.stdout


def legacy_message(offset, key, value, timestamp=1_600_000_000_000):
    """One message format v1 entry (magic 1, uncompressed), CRC32 as zlib computes it."""
    import zlib

    def b(x):
        return struct.pack(">i", -1) if x is None else struct.pack(">i", len(x)) + x

    body = struct.pack(">bbq", 1, 0, timestamp) + b(key) + b(value)
    message = struct.pack(">I", zlib.crc32(body)) + body
    return struct.pack(">qi", offset, len(message)) + message


def test_legacy_message_set(tmp_path):
    path = tmp_path / "00000000000000000000.log"
    path.write_bytes(legacy_message(0, b"old", b"v1 value") + legacy_message(1, None, b"x"))
    r = dump("--deep", path)
    assert r.returncode == EXIT_OK, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].startswith("baseOffset: 0 lastOffset: 0 count: 1 position: 0 ")
    assert "magic: 1 compresscodec: none crcValid: true" in lines[1]
    assert "key: old payload: v1 value" in lines[2]
    data = bytearray(path.read_bytes())
    data[30] ^= 0x01  # inside the first message's key
    path.write_bytes(bytes(data))
    r, doc = dump_json(path)
    assert r.returncode == EXIT_ERROR
    assert [b["crc_valid"] for b in doc["batches"]] == [False, True]


def test_offset_index_checked_against_the_log(tmp_path):
    _, first_size, _ = sample_segment(tmp_path)  # batches end at offsets 101 and 103
    index = tmp_path / "00000000000000000100.index"
    index.write_bytes(struct.pack(">ii", 1, 0) + struct.pack(">ii", 3, first_size))
    r = dump(index)
    assert r.returncode == EXIT_OK, r.stdout + r.stderr
    assert "2 entries, checked against the log" in r.stdout
    index.write_bytes(struct.pack(">ii", 1, 0) + struct.pack(">ii", 2, first_size) +
                      struct.pack(">ii", 5, 100000))
    r = dump(index)
    assert r.returncode == EXIT_ERROR
    assert f"the batch at position {first_size} ends at offset 103, not 102" in r.stdout
    assert "past the end of the log" in r.stdout
    assert "2 entries do not match the log" in r.stderr
    r, doc = dump_json(index)
    assert doc["checked_against_log"] is True
    assert "problem" not in doc["entries"][0] and "problem" in doc["entries"][1]
