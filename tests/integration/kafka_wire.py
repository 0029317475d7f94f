"""A minimal Kafka wire client for the integration tests: raw requests the Python clients
cannot send (DeleteRecords, DescribeLogDirs, a Produce sent twice, Fetch with chosen
max_wait/min_bytes and session fields). Non-flexible versions only; big-endian struct
encoding as the protocol defines it."""

import socket
import struct
import time


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def nbytes(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + bytes(b)


def array(items, enc):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(enc(x) for x in items)


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def i8(self):
        return self.take(">b")

    def i16(self):
        return self.take(">h")

    def i32(self):
        return self.take(">i")

    def i64(self):
        return self.take(">q")

    def bool(self):
        return self.take(">b") != 0

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes(self):
        n = self.i32()
        if n < 0:
            return None
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def array(self, dec):
        n = self.i32()
        if n < 0:
            return None
        return [dec(self) for _ in range(n)]


class Wire:
    def __init__(self, bootstrap, timeout=30.0):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.correlation = 0

    def close(self):
        self.sock.close()

    def _recv(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            out += chunk
        return bytes(out)

    def send(self, api_key, version, body):
        self.correlation += 1
        header = i16(api_key) + i16(version) + i32(self.correlation) + string("kfk-tests")
        frame = header + body
        self.sock.sendall(i32(len(frame)) + frame)
        return self.correlation

    def receive(self, correlation):
        size = struct.unpack(">i", self._recv(4))[0]
        data = self._recv(size)
        r = Reader(data)
        assert r.i32() == correlation
        return r

    def call(self, api_key, version, body):
        return self.receive(self.send(api_key, version, body))

    # --- requests -------------------------------------------------------------------------

    def init_producer_id(self, transactional_id=None):
        r = self.call(22, 0, string(transactional_id) + i32(60000))
        r.i32()  # throttle
        return r.i16(), r.i64(), r.i16()  # error, producer id, epoch

    def produce(self, topic, partition, batch, acks=-1, version=3):
        body = string(None) if version >= 3 else b""
        body += i16(acks) + i32(30000) + array(
            [topic], lambda t: string(t) + array([partition], lambda p: i32(p) + nbytes(batch)))
        r = self.call(0, version, body)

        def part(r):
            out = {"partition": r.i32(), "error": r.i16(), "base_offset": r.i64()}
            if version >= 2:
                out["log_append_time"] = r.i64()
            if version >= 5:
                out["log_start_offset"] = r.i64()
            return out

        topics = r.array(lambda r: (r.string(), r.array(part)))
        return topics[0][1][0]

    def fetch(self, partitions, max_wait_ms=0, min_bytes=1, max_bytes=50 << 20, version=7,
              session_id=0, session_epoch=-1, forgotten=(), isolation=0):
        """partitions: [(topic, partition, offset, partition_max_bytes)]"""
        by_topic = {}
        for t, p, off, mb in partitions:
            by_topic.setdefault(t, []).append((p, off, mb))

        def enc_part(x):
            p, off, mb = x
            out = i32(p)
            if version >= 9:
                out += i32(-1)  # current leader epoch
            out += i64(off)
            if version >= 5:
                out += i64(-1)  # log start offset (followers)
            return out + i32(mb)

        body = i32(-1) + i32(max_wait_ms) + i32(min_bytes)
        if version >= 3:
            body += i32(max_bytes)
        if version >= 4:
            body += i8(isolation)
        if version >= 7:
            body += i32(session_id) + i32(session_epoch)
        body += array(list(by_topic.items()), lambda kv: string(kv[0]) + array(kv[1], enc_part))
        if version >= 7:
            fg = {}
            for t, p in forgotten:
                fg.setdefault(t, []).append(p)
            body += array(list(fg.items()), lambda kv: string(kv[0]) + array(kv[1], i32))
        if version >= 11:
            body += string("")
        r = self.call(1, version, body)
        resp = {"throttle": r.i32() if version >= 1 else 0}
        if version >= 7:
            resp["error"] = r.i16()
            resp["session_id"] = r.i32()

        def dec_part(r):
            d = {"partition": r.i32(), "error": r.i16(), "high_watermark": r.i64()}
            if version >= 4:
                d["last_stable_offset"] = r.i64()
            if version >= 5:
                d["log_start_offset"] = r.i64()
            if version >= 4:
                d["aborted"] = r.array(lambda r: (r.i64(), r.i64()))
            if version >= 11:
                d["preferred_read_replica"] = r.i32()
            d["records"] = r.bytes()
            return d

        resp["topics"] = {name: parts for name, parts in
                          r.array(lambda r: (r.string(), r.array(dec_part)))}
        return resp

    def list_offsets(self, topic, partition, timestamp, version=1):
        body = i32(-1)
        if version >= 2:
            body += i8(0)
        body += array([topic], lambda t: string(t) + array(
            [partition], lambda p: i32(p) + (i32(-1) if version >= 4 else b"") + i64(timestamp)))
        r = self.call(2, version, body)
        if version >= 2:
            r.i32()

        def dec(r):
            d = {"partition": r.i32(), "error": r.i16(), "timestamp": r.i64(), "offset": r.i64()}
            if version >= 4:
                d["leader_epoch"] = r.i32()
            return d

        return r.array(lambda r: (r.string(), r.array(dec)))[0][1][0]

    def delete_records(self, topic, partition, offset):
        body = array([topic], lambda t: string(t) + array(
            [partition], lambda p: i32(p) + i64(offset))) + i32(30000)
        r = self.call(21, 0, body)
        r.i32()
        topics = r.array(lambda r: (r.string(), r.array(
            lambda r: {"partition": r.i32(), "low_watermark": r.i64(), "error": r.i16()})))
        return topics[0][1][0]

    def describe_log_dirs(self, topics=None):
        body = array(topics, lambda t: string(t[0]) + array(t[1], i32))
        r = self.call(35, 1, body)
        r.i32()

        def part(r):
            return {"partition": r.i32(), "size": r.i64(), "offset_lag": r.i64(),
                    "is_future": r.bool()}

        return r.array(lambda r: {"error": r.i16(), "log_dir": r.string(),
                                  "topics": r.array(lambda r: (r.string(), r.array(part)))})


def record_batch(values, producer_id=-1, producer_epoch=-1, base_sequence=-1, timestamp=None,
                 transactional=False):
    """A v2 record batch of (key, value) pairs, built by kafka-python's builder."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=transactional,
                                  producer_id=producer_id, producer_epoch=producer_epoch,
                                  base_sequence=base_sequence, batch_size=1 << 20)
    ts = int(time.time() * 1000) if timestamp is None else timestamp
    for i, (k, v) in enumerate(values):
        b.append(i, timestamp=ts, key=k, value=v, headers=[])
    return bytes(b.build())


def legacy_message_set(messages, magic, compression=0):
    """A message set of magic 0 or 1 from (key, value, timestamp) triples, built by
    kafka-python's legacy builder (a compressed one is a single wrapper)."""
    from kafka.record.legacy_records import LegacyRecordBatchBuilder
    b = LegacyRecordBatchBuilder(magic=magic, compression_type=compression, batch_size=1 << 20)
    for i, (k, v, ts) in enumerate(messages):
        b.append(i, timestamp=ts, key=k, value=v)
    return bytes(b.build())


def decode_legacy(data):
    """(offset, magic, timestamp, key, value) of every message of a legacy message set; a
    partial message at the end is left out, as old clients do."""
    from kafka.record.legacy_records import LegacyRecordBatch
    out = []
    data = bytes(data or b"")
    pos = 0
    while pos + 17 <= len(data):
        size = struct.unpack_from(">i", data, pos + 8)[0]
        if pos + 12 + size > len(data):
            break
        magic = data[pos + 16]
        batch = LegacyRecordBatch(data[pos:pos + 12 + size], magic)
        assert batch.validate_crc()
        for rec in batch:
            out.append((rec.offset, magic, rec.timestamp, rec.key, rec.value))
        pos += 12 + size
    return out


def decode_records(data):
    """(offset, key, value) of every record in a fetch response's records."""
    from kafka.record.memory_records import MemoryRecords
    out = []
    records = MemoryRecords(bytes(data or b""))
    while True:
        batch = records.next_batch()
        if batch is None:
            break
        for rec in batch:
            out.append((rec.offset, rec.key, rec.value))
    return out
