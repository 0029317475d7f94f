#!/usr/bin/python3
"""Capture golden Kafka request frames from real Kafka clients.

A small fake broker (stdlib only) listens on 127.0.0.1 on a free port, saves
every request frame it receives (without the 4-byte size prefix) and answers
with hand-encoded responses that are just rich enough for the client to go on
to its next request.  A driver runs kcat, confluent-kafka-python and
kafka-python against it and writes a MANIFEST.json describing every file.

Usage:
    /usr/bin/python3 tests/golden/capture.py --out tests/golden/data

Only the Python standard library is used by the listener itself; the clients
are run as subprocesses (each bounded by a timeout).  The optional codec
modules (snappy, lz4, zstandard) are only used to describe compressed record
batches in the manifest.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

# ---------------------------------------------------------------------------
# API table
#
# key: (name, kafka4_min, advertised_max, first_flexible_version)
#
# kafka4_min is the lowest version a Kafka 4.0 broker still accepts (KIP-896):
# the listener advertises [kafka4_min, advertised_max] in ApiVersions so that
# clients pick min(client max, advertised_max), i.e. their own maximum.
# first_flexible_version decides request header v2 / response header v1 and
# compact encodings (KIP-482).  None = never flexible.
# ---------------------------------------------------------------------------
APIS = {
    0: ("Produce", 3, 11, 9),
    1: ("Fetch", 4, 17, 12),
    2: ("ListOffsets", 1, 10, 6),
    3: ("Metadata", 0, 12, 9),
    8: ("OffsetCommit", 2, 9, 8),
    9: ("OffsetFetch", 1, 9, 6),
    10: ("FindCoordinator", 0, 6, 3),
    11: ("JoinGroup", 2, 9, 6),
    12: ("Heartbeat", 0, 4, 4),
    13: ("LeaveGroup", 0, 5, 4),
    14: ("SyncGroup", 0, 5, 4),
    18: ("ApiVersions", 0, 4, 3),
    19: ("CreateTopics", 2, 7, 5),
    22: ("InitProducerId", 0, 5, 2),
}
API_BY_NAME = {v[0]: k for k, v in APIS.items()}

APIVERSIONS_KEY = 18
ERR_NONE = 0
ERR_OFFSET_OUT_OF_RANGE = 1
ERR_UNKNOWN_TOPIC_OR_PARTITION = 3
ERR_UNKNOWN_MEMBER_ID = 25
ERR_UNSUPPORTED_VERSION = 35
ERR_TOPIC_ALREADY_EXISTS = 36
ERR_MEMBER_ID_REQUIRED = 79

NODE_ID = 1
CLUSTER_ID = "kfk-golden-cluster"
CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


def is_flexible(api_key: int, version: int) -> bool:
    flex = APIS[api_key][3]
    return flex is not None and version >= flex


def request_header_version(api_key: int, version: int) -> int:
    return 2 if is_flexible(api_key, version) else 1


def response_header_version(api_key: int, version: int) -> int:
    # ApiVersions responses always use header v0 so that a client can parse
    # them whatever version it asked for.
    if api_key == APIVERSIONS_KEY:
        return 0
    return 1 if is_flexible(api_key, version) else 0


def log(msg: str) -> None:
    print(f"[capture] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Primitive encoding
# ---------------------------------------------------------------------------
class ProtocolError(Exception):
    pass


class Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError(f"need {n} bytes at {self.pos}, have {self.remaining()}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def _fmt(self, fmt: str):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))[0]

    def int8(self):
        return self._fmt(">b")

    def int16(self):
        return self._fmt(">h")

    def int32(self):
        return self._fmt(">i")

    def int64(self):
        return self._fmt(">q")

    def uint32(self):
        return self._fmt(">I")

    def bool(self):
        return self.take(1) != b"\x00"

    def uvarint(self) -> int:
        result = 0
        shift = 0
        while True:
            b = self.take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise ProtocolError("varint too long")

    def varint(self) -> int:
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def uuid(self) -> bytes:
        return self.take(16)

    def length(self, flexible: bool, wide: bool) -> int:
        """Length of a string (wide=False) or bytes/array (wide=True); -1 = null."""
        if flexible:
            return self.uvarint() - 1
        return self.int32() if wide else self.int16()

    def string(self, flexible: bool):
        n = self.length(flexible, wide=False)
        if n < 0:
            return None
        return self.take(n).decode("utf-8", errors="replace")

    def bytes(self, flexible: bool):
        n = self.length(flexible, wide=True)
        if n < 0:
            return None
        return self.take(n)

    def tagged_fields(self) -> dict:
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            size = self.uvarint()
            out[str(tag)] = self.take(size).hex()
        return out


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def raw(self, b: bytes):
        self.buf += b

    def int8(self, v):
        self.buf += struct.pack(">b", v)

    def int16(self, v):
        self.buf += struct.pack(">h", v)

    def int32(self, v):
        self.buf += struct.pack(">i", v)

    def int64(self, v):
        self.buf += struct.pack(">q", v)

    def bool(self, v):
        self.buf += b"\x01" if v else b"\x00"

    def uvarint(self, v: int):
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                self.buf.append(b | 0x80)
            else:
                self.buf.append(b)
                return

    def length(self, n: int, flexible: bool, wide: bool):
        if flexible:
            self.uvarint(n + 1)
        elif wide:
            self.int32(n)
        else:
            self.int16(n)

    def string(self, s, flexible: bool):
        if s is None:
            self.length(-1, flexible, wide=False)
            return
        b = s.encode("utf-8")
        self.length(len(b), flexible, wide=False)
        self.buf += b

    def bytes(self, b, flexible: bool):
        if b is None:
            self.length(-1, flexible, wide=True)
            return
        self.length(len(b), flexible, wide=True)
        self.buf += b

    def uuid(self, b):
        b = b or bytes(16)
        assert len(b) == 16
        self.buf += b

    def no_tagged_fields(self):
        self.uvarint(0)


# ---------------------------------------------------------------------------
# A tiny schema notation for the messages this listener reads and writes.
#
# One field per line: NAME TYPE [VERSIONS] [null=VERSIONS]; children of a
# struct array ("[]") are indented below it.  VERSIONS is "N+", "N-M", "N" or
# "none"; the default is "0+" and null defaults to "none".  Tagged fields are
# never written by this listener and are read generically, so they are not
# listed.
# ---------------------------------------------------------------------------
class VRange:
    def __init__(self, text: str):
        self.text = text
        if text == "none":
            self.lo, self.hi = 1, 0
        elif text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), 1 << 15
        elif "-" in text:
            lo, hi = text.split("-")
            self.lo, self.hi = int(lo), int(hi)
        else:
            self.lo = self.hi = int(text)

    def __contains__(self, v: int) -> bool:
        return self.lo <= v <= self.hi


class Field:
    def __init__(self, name, typ, versions, nullable):
        self.name = name
        self.typ = typ
        self.versions = VRange(versions)
        self.nullable = VRange(nullable)
        self.fields: list[Field] = []


SCALAR_DEFAULTS = {
    "int8": 0, "int16": 0, "int32": 0, "int64": 0, "bool": False,
    "string": "", "bytes": b"", "records": None, "uuid": bytes(16),
}


def schema(text: str) -> list[Field]:
    root: list[Field] = []
    stack: list[tuple[int, list[Field]]] = [(-1, root)]
    for line in text.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        parts = line.split()
        versions, nullable = "0+", "none"
        for p in parts[2:]:
            if p.startswith("null="):
                nullable = p[5:]
            else:
                versions = p
        f = Field(parts[0], parts[1], versions, nullable)
        while stack[-1][0] >= indent:
            stack.pop()
        stack[-1][1].append(f)
        if f.typ == "[]":
            stack.append((indent, f.fields))
    return root


def decode_struct(r: Reader, fields: list[Field], version: int, flexible: bool) -> dict:
    out = {}
    for f in fields:
        if version not in f.versions:
            continue
        out[f.name] = decode_value(r, f, version, flexible)
    if flexible:
        tags = r.tagged_fields()
        if tags:
            out["_tagged"] = tags
    return out


def decode_value(r: Reader, f: Field, version: int, flexible: bool):
    t = f.typ
    if t in ("int8", "int16", "int32", "int64", "bool"):
        return getattr(r, t)()
    if t == "uuid":
        return r.uuid()
    if t == "string":
        return r.string(flexible)
    if t in ("bytes", "records"):
        return r.bytes(flexible)
    if t.startswith("[]"):
        n = r.length(flexible, wide=True)
        if n < 0:
            return None
        if t == "[]":
            return [decode_struct(r, f.fields, version, flexible) for _ in range(n)]
        item = t[2:]
        if item == "string":
            return [r.string(flexible) for _ in range(n)]
        return [getattr(r, item)() for _ in range(n)]
    raise ProtocolError(f"unknown type {t}")


def encode_struct(w: Writer, fields: list[Field], version: int, flexible: bool, value: dict):
    for f in fields:
        if version not in f.versions:
            continue
        if f.name in value:
            v = value[f.name]
        elif f.typ.startswith("[]"):
            v = []
        else:
            v = SCALAR_DEFAULTS[f.typ]
        encode_value(w, f, version, flexible, v)
    if flexible:
        w.no_tagged_fields()


def encode_value(w: Writer, f: Field, version: int, flexible: bool, v):
    t = f.typ
    if v is None and version not in f.nullable and t not in ("records",):
        raise ProtocolError(f"{f.name} is not nullable in v{version}")
    if t in ("int8", "int16", "int32", "int64", "bool"):
        getattr(w, t)(v)
    elif t == "uuid":
        w.uuid(v)
    elif t == "string":
        w.string(v, flexible)
    elif t in ("bytes", "records"):
        w.bytes(v, flexible)
    elif t.startswith("[]"):
        if v is None:
            w.length(-1, flexible, wide=True)
            return
        w.length(len(v), flexible, wide=True)
        item = t[2:]
        for x in v:
            if t == "[]":
                encode_struct(w, f.fields, version, flexible, x)
            elif item == "string":
                w.string(x, flexible)
            else:
                getattr(w, item)(x)
    else:
        raise ProtocolError(f"unknown type {t}")


# ---------------------------------------------------------------------------
# Requests (decoded to describe them and to answer them)
# ---------------------------------------------------------------------------
REQUESTS = {
    18: schema("""
ClientSoftwareName string 3+
ClientSoftwareVersion string 3+
"""),
    3: schema("""
Topics [] 0+ null=1+
  TopicId uuid 10+
  Name string 0+ null=10+
AllowAutoTopicCreation bool 4+
IncludeClusterAuthorizedOperations bool 8-10
IncludeTopicAuthorizedOperations bool 8+
"""),
    0: schema("""
TransactionalId string 3+ null=3+
Acks int16
TimeoutMs int32
TopicData []
  Name string
  PartitionData []
    Index int32
    Records records 0+ null=0+
"""),
    1: schema("""
ReplicaId int32 0-14
MaxWaitMs int32
MinBytes int32
MaxBytes int32 3+
IsolationLevel int8 4+
SessionId int32 7+
SessionEpoch int32 7+
Topics []
  Topic string 0-12
  TopicId uuid 13+
  Partitions []
    Partition int32
    CurrentLeaderEpoch int32 9+
    FetchOffset int64
    LastFetchedEpoch int32 12+
    LogStartOffset int64 5+
    PartitionMaxBytes int32
ForgottenTopicsData [] 7+
  Topic string 7-12
  TopicId uuid 13+
  Partitions []int32
RackId string 11+
"""),
    2: schema("""
ReplicaId int32
IsolationLevel int8 2+
Topics []
  Name string
  Partitions []
    PartitionIndex int32
    CurrentLeaderEpoch int32 4+
    Timestamp int64
    MaxNumOffsets int32 0
TimeoutMs int32 10+
"""),
    10: schema("""
Key string 0-3
KeyType int8 1+
CoordinatorKeys []string 4+
"""),
    11: schema("""
GroupId string
SessionTimeoutMs int32
RebalanceTimeoutMs int32 1+
MemberId string
GroupInstanceId string 5+ null=5+
ProtocolType string
Protocols []
  Name string
  Metadata bytes
Reason string 8+ null=8+
"""),
    14: schema("""
GroupId string
GenerationId int32
MemberId string
GroupInstanceId string 3+ null=3+
ProtocolType string 5+ null=5+
ProtocolName string 5+ null=5+
Assignments []
  MemberId string
  Assignment bytes
"""),
    12: schema("""
GroupId string
GenerationId int32
MemberId string
GroupInstanceId string 3+ null=3+
"""),
    8: schema("""
GroupId string
GenerationIdOrMemberEpoch int32 1+
MemberId string 1+
GroupInstanceId string 7+ null=7+
RetentionTimeMs int64 2-4
Topics []
  Name string
  Partitions []
    PartitionIndex int32
    CommittedOffset int64
    CommittedLeaderEpoch int32 6+
    CommitTimestamp int64 1
    CommittedMetadata string 0+ null=0+
"""),
    9: schema("""
GroupId string 0-7
Topics [] 0-7 null=2-7
  Name string
  PartitionIndexes []int32
Groups [] 8+
  GroupId string
  MemberId string 9+ null=9+
  MemberEpoch int32 9+
  Topics [] 8+ null=8+
    Name string
    PartitionIndexes []int32
RequireStable bool 7+
"""),
    13: schema("""
GroupId string
MemberId string 0-2
Members [] 3+
  MemberId string
  GroupInstanceId string 3+ null=3+
  Reason string 5+ null=5+
"""),
    19: schema("""
Topics []
  Name string
  NumPartitions int32
  ReplicationFactor int16
  Assignments []
    PartitionIndex int32
    BrokerIds []int32
  Configs []
    Name string
    Value string 0+ null=0+
timeoutMs int32
validateOnly bool 1+
"""),
    22: schema("""
TransactionalId string 0+ null=0+
TransactionTimeoutMs int32
ProducerId int64 3+
ProducerEpoch int16 3+
"""),
}

# ---------------------------------------------------------------------------
# Responses (encoded by the listener)
# ---------------------------------------------------------------------------
RESPONSES = {
    18: schema("""
ErrorCode int16
ApiKeys []
  ApiKey int16
  MinVersion int16
  MaxVersion int16
ThrottleTimeMs int32 1+
"""),
    3: schema("""
ThrottleTimeMs int32 3+
Brokers []
  NodeId int32
  Host string
  Port int32
  Rack string 1+ null=1+
ClusterId string 2+ null=2+
ControllerId int32 1+
Topics []
  ErrorCode int16
  Name string 0+ null=12+
  TopicId uuid 10+
  IsInternal bool 1+
  Partitions []
    ErrorCode int16
    PartitionIndex int32
    LeaderId int32
    LeaderEpoch int32 7+
    ReplicaNodes []int32
    IsrNodes []int32
    OfflineReplicas []int32 5+
  TopicAuthorizedOperations int32 8+
ClusterAuthorizedOperations int32 8-10
"""),
    0: schema("""
Responses []
  Name string
  PartitionResponses []
    Index int32
    ErrorCode int16
    BaseOffset int64
    LogAppendTimeMs int64 2+
    LogStartOffset int64 5+
    RecordErrors [] 8+
      BatchIndex int32
      BatchIndexErrorMessage string 8+ null=8+
    ErrorMessage string 8+ null=8+
ThrottleTimeMs int32 1+
"""),
    1: schema("""
ThrottleTimeMs int32 1+
ErrorCode int16 7+
SessionId int32 7+
Responses []
  Topic string 0-12
  TopicId uuid 13+
  Partitions []
    PartitionIndex int32
    ErrorCode int16
    HighWatermark int64
    LastStableOffset int64 4+
    LogStartOffset int64 5+
    AbortedTransactions [] 4+ null=4+
      ProducerId int64
      FirstOffset int64
    PreferredReadReplica int32 11+
    Records records 0+ null=0+
"""),
    2: schema("""
ThrottleTimeMs int32 2+
Topics []
  Name string
  Partitions []
    PartitionIndex int32
    ErrorCode int16
    OldStyleOffsets []int64 0
    Timestamp int64 1+
    Offset int64 1+
    LeaderEpoch int32 4+
"""),
    10: schema("""
ThrottleTimeMs int32 1+
ErrorCode int16 0-3
ErrorMessage string 1-3 null=1-3
NodeId int32 0-3
Host string 0-3
Port int32 0-3
Coordinators [] 4+
  Key string
  NodeId int32
  Host string
  Port int32
  ErrorCode int16
  ErrorMessage string 4+ null=4+
"""),
    11: schema("""
ThrottleTimeMs int32 2+
ErrorCode int16
GenerationId int32
ProtocolType string 7+ null=7+
ProtocolName string 0+ null=7+
Leader string
SkipAssignment bool 9+
MemberId string
Members []
  MemberId string
  GroupInstanceId string 5+ null=5+
  Metadata bytes
"""),
    14: schema("""
ThrottleTimeMs int32 1+
ErrorCode int16
ProtocolType string 5+ null=5+
ProtocolName string 5+ null=5+
Assignment bytes
"""),
    12: schema("""
ThrottleTimeMs int32 1+
ErrorCode int16
"""),
    8: schema("""
ThrottleTimeMs int32 3+
Topics []
  Name string
  Partitions []
    PartitionIndex int32
    ErrorCode int16
"""),
    9: schema("""
ThrottleTimeMs int32 3+
Topics [] 0-7
  Name string
  Partitions []
    PartitionIndex int32
    CommittedOffset int64
    CommittedLeaderEpoch int32 5+
    Metadata string 0+ null=0+
    ErrorCode int16
ErrorCode int16 2-7
Groups [] 8+
  GroupId string
  Topics []
    Name string
    Partitions []
      PartitionIndex int32
      CommittedOffset int64
      CommittedLeaderEpoch int32
      Metadata string 0+ null=8+
      ErrorCode int16
  ErrorCode int16
"""),
    13: schema("""
ThrottleTimeMs int32 1+
ErrorCode int16
Members [] 3+
  MemberId string
  GroupInstanceId string 3+ null=3+
  ErrorCode int16
"""),
    19: schema("""
ThrottleTimeMs int32 2+
Topics []
  Name string
  TopicId uuid 7+
  ErrorCode int16
  ErrorMessage string 1+ null=0+
  NumPartitions int32 5+
  ReplicationFactor int16 5+
  Configs [] 5+ null=5+
    Name string
    Value string 0+ null=5+
    ReadOnly bool
    ConfigSource int8
    IsSensitive bool
"""),
    22: schema("""
ThrottleTimeMs int32
ErrorCode int16
ProducerId int64
ProducerEpoch int16
"""),
}

# Embedded consumer protocol (not flexible; version is the leading int16).
CONSUMER_SUBSCRIPTION = schema("""
Topics []string
UserData bytes 0+ null=0+
OwnedPartitions [] 1+
  Topic string
  Partitions []int32
GenerationId int32 2+
RackId string 3+ null=3+
""")
CONSUMER_ASSIGNMENT = schema("""
AssignedPartitions []
  Topic string
  Partitions []int32
UserData bytes 0+ null=0+
""")


def decode_embedded(data: bytes, fields: list[Field], max_version: int = 3):
    """Decode a ConsumerProtocol subscription/assignment (int16 version first)."""
    if not data:
        return None
    r = Reader(data)
    version = r.int16()
    out = {"Version": version}
    out.update(decode_struct(r, fields, min(version, max_version), False))
    if r.remaining():
        out["_trailing"] = r.take(r.remaining()).hex()
    return out


def encode_assignment(topics: dict[str, list[int]]) -> bytes:
    w = Writer()
    w.int16(0)
    encode_struct(w, CONSUMER_ASSIGNMENT, 0, False, {
        "AssignedPartitions": [{"Topic": t, "Partitions": p} for t, p in sorted(topics.items())],
        "UserData": None,
    })
    return bytes(w.buf)


# ---------------------------------------------------------------------------
# Record batches (magic v2) - decoded only to describe Produce requests
# ---------------------------------------------------------------------------
def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def decompress(codec: int, payload: bytes) -> bytes:
    if codec == 0:
        return payload
    if codec == 1:
        return gzip.decompress(payload)
    if codec == 2:
        import snappy  # python3-snappy
        xerial = b"\x82SNAPPY\x00"
        if payload.startswith(xerial):
            out = bytearray()
            pos = 16  # magic(8) + version(4) + compatible version(4)
            while pos < len(payload):
                (n,) = struct.unpack_from(">i", payload, pos)
                out += snappy.decompress(payload[pos + 4:pos + 4 + n])
                pos += 4 + n
            return bytes(out)
        return snappy.decompress(payload)
    if codec == 3:
        import lz4.frame  # python3-lz4
        return lz4.frame.decompress(payload)
    if codec == 4:
        import zstandard  # python3-zstandard
        return zstandard.ZstdDecompressor().decompressobj().decompress(payload)
    raise ProtocolError(f"unknown codec {codec}")


def text_or_hex(b):
    if b is None:
        return None
    try:
        s = b.decode("utf-8")
        if s.isprintable():
            return s
    except UnicodeDecodeError:
        pass
    return {"hex": b.hex()}


def describe_records(data):
    """Describe a records field: a list of record batches."""
    if data is None:
        return None
    batches = []
    pos = 0
    while pos < len(data):
        if pos + 17 > len(data):
            batches.append({"error": "truncated batch header", "offset": pos})
            break
        base_offset, length, _epoch, magic = struct.unpack_from(">qiib", data, pos)
        end = pos + 12 + length
        if end > len(data):
            batches.append({"error": "truncated batch", "offset": pos})
            break
        if magic != 2:
            batches.append({"magic": magic, "bytes": end - pos, "note": "legacy message set"})
            pos = end
            continue
        (leader_epoch, magic, crc, attributes, last_offset_delta, base_ts, max_ts,
         producer_id, producer_epoch, base_sequence, count) = struct.unpack_from(
            ">ibIhiqqqhii", data, pos + 12)
        codec = attributes & 0x7
        batch = {
            "baseOffset": base_offset,
            "batchLength": length,
            "partitionLeaderEpoch": leader_epoch,
            "magic": magic,
            "crc": crc,
            "crcValid": crc32c(data[pos + 21:end]) == crc,
            "attributes": attributes,
            "compression": CODECS.get(codec, str(codec)),
            "timestampType": "LogAppendTime" if attributes & 0x8 else "CreateTime",
            "isTransactional": bool(attributes & 0x10),
            "isControl": bool(attributes & 0x20),
            "lastOffsetDelta": last_offset_delta,
            "baseTimestamp": base_ts,
            "maxTimestamp": max_ts,
            "producerId": producer_id,
            "producerEpoch": producer_epoch,
            "baseSequence": base_sequence,
            "recordCount": count,
            "compressedSize": end - (pos + 61),
        }
        payload = data[pos + 61:end]
        if codec == 2:
            batch["compressionFraming"] = "xerial" if payload.startswith(b"\x82SNAPPY\x00") else "raw"
        elif codec == 3:
            batch["compressionFraming"] = "lz4-frame" if payload.startswith(b"\x04\x22\x4d\x18") else "other"
        try:
            body = decompress(codec, payload)
            batch["uncompressedSize"] = len(body)
            batch["records"] = decode_records(body, count)
        except ImportError as e:
            batch["records"] = f"not decoded: codec module missing ({e.name})"
        except Exception as e:  # describe, never fail the capture
            batch["records"] = f"not decoded: {e}"
        batches.append(batch)
        pos = end
    return batches


def decode_records(body: bytes, count: int):
    r = Reader(body)
    out = []
    for _ in range(count):
        length = r.varint()
        end = r.pos + length
        rec = {"attributes": r.int8(), "timestampDelta": r.varint(), "offsetDelta": r.varint()}
        n = r.varint()
        rec["key"] = text_or_hex(r.take(n)) if n >= 0 else None
        n = r.varint()
        rec["value"] = text_or_hex(r.take(n)) if n >= 0 else None
        headers = []
        for _ in range(r.varint()):
            kn = r.varint()
            hk = r.take(kn).decode("utf-8", errors="replace")
            vn = r.varint()
            headers.append([hk, text_or_hex(r.take(vn)) if vn >= 0 else None])
        rec["headers"] = headers
        if r.pos != end:
            rec["error"] = f"record length mismatch ({r.pos - end:+d} bytes)"
            r.pos = end
        out.append(rec)
    if r.remaining():
        out.append({"error": f"{r.remaining()} trailing bytes"})
    return out


def batch_codec(data) -> str | None:
    if not data or len(data) < 23 or data[16] != 2:
        return None
    (attributes,) = struct.unpack_from(">h", data, 21)
    return CODECS.get(attributes & 0x7, str(attributes & 0x7))


def batch_producer_id(data) -> int:
    if not data or len(data) < 51 or data[16] != 2:
        return -1
    return struct.unpack_from(">q", data, 43)[0]


# ---------------------------------------------------------------------------
# Header parsing and request description
# ---------------------------------------------------------------------------
def parse_request_header(frame: bytes) -> dict:
    """Parse a request header (v1, or v2 for flexible versions).

    Returns api_key, api_version, correlation_id, client_id, header_version,
    header_size.  Unknown API keys are parsed as v1 (client_id included).
    """
    r = Reader(frame)
    api_key = r.int16()
    api_version = r.int16()
    correlation_id = r.int32()
    client_id = r.string(flexible=False)  # never compact, even in header v2
    hv = request_header_version(api_key, api_version) if api_key in APIS else 1
    tags = {}
    if hv == 2:
        tags = r.tagged_fields()
    return {
        "api_key": api_key,
        "api_version": api_version,
        "correlation_id": correlation_id,
        "client_id": client_id,
        "header_version": hv,
        "header_tagged_fields": tags,
        "header_size": r.pos,
    }


def decode_request_body(hdr: dict, frame: bytes) -> tuple[dict, int]:
    """Decode the request body; returns (fields, trailing byte count)."""
    r = Reader(frame, hdr["header_size"])
    body = decode_struct(r, REQUESTS[hdr["api_key"]], hdr["api_version"],
                         is_flexible(hdr["api_key"], hdr["api_version"]))
    return body, r.remaining()


def to_json(value, key=None):
    """Make a decoded request JSON-friendly (bytes -> hex, records -> batches)."""
    if key == "Records":
        return describe_records(value)
    if isinstance(value, dict):
        return {k: to_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        if key in ("TopicId",):
            return bytes(value).hex()
        return {"hex": bytes(value).hex()}
    return value


def describe_request(hdr: dict, body: dict) -> dict:
    """JSON description of a request body, with embedded protocols decoded."""
    desc = to_json(body)
    key = hdr["api_key"]
    if key == 11 and body.get("ProtocolType") == "consumer":
        for p, raw in zip(desc.get("Protocols", []), body.get("Protocols", [])):
            p["MetadataDecoded"] = to_json(decode_embedded(raw["Metadata"], CONSUMER_SUBSCRIPTION))
    if key == 14:
        for a, raw in zip(desc.get("Assignments", []), body.get("Assignments", [])):
            try:
                a["AssignmentDecoded"] = to_json(decode_embedded(raw["Assignment"], CONSUMER_ASSIGNMENT))
            except ProtocolError:
                pass
    return desc


def request_variant(hdr: dict, body: dict) -> str:
    key = hdr["api_key"]
    if key == 0:
        codec, pid = None, -1
        for t in body.get("TopicData") or []:
            for p in t.get("PartitionData") or []:
                codec = codec or batch_codec(p.get("Records"))
                pid = max(pid, batch_producer_id(p.get("Records")))
        parts = [codec or "legacy"]
        if body.get("TransactionalId"):
            parts.append("transactional")
        elif pid >= 0:
            parts.append("idempotent")
        return "-".join(parts)
    if key == 11 and body.get("MemberId"):
        return "with-member-id"
    return ""


# ---------------------------------------------------------------------------
# Broker state and handlers
# ---------------------------------------------------------------------------
def topic_id(name: str) -> bytes:
    return hashlib.md5(("kfk-golden-topic:" + name).encode()).digest()


class BrokerState:
    """Just enough broker state for the clients to make progress."""

    def __init__(self, port: int):
        self.port = port
        self.topics: dict[str, int] = {}          # name -> partition count
        self.log: dict[tuple[str, int], list[list]] = collections.defaultdict(list)  # (t,p)->[[base, batch]]
        self.next_offset: dict[tuple[str, int], int] = collections.defaultdict(int)
        self.groups: dict[str, dict] = {}
        self.next_producer_id = 1000
        self.next_member = 1
        self.lock = threading.Lock()

    def ensure_topic(self, name: str, partitions: int = 1) -> bool:
        if name in self.topics:
            return False
        self.topics[name] = max(1, partitions)
        return True

    def topic_by_id(self, tid: bytes) -> str | None:
        for name in self.topics:
            if topic_id(name) == tid:
                return name
        return None

    def append(self, topic: str, partition: int, records: bytes) -> int:
        """Store record batches, assigning offsets; returns the base offset."""
        tp = (topic, partition)
        base = self.next_offset[tp]
        pos = 0
        offset = base
        while pos + 61 <= len(records):
            (length,) = struct.unpack_from(">i", records, pos + 8)
            end = pos + 12 + length
            batch = bytearray(records[pos:end])
            if batch[16] == 2:
                (last_delta,) = struct.unpack_from(">i", batch, 23)
                # baseOffset is outside the CRC-covered range, so it can be rewritten.
                struct.pack_into(">q", batch, 0, offset)
                self.log[tp].append([offset, bytes(batch)])
                offset += last_delta + 1
            pos = end
        self.next_offset[tp] = offset
        return base

    def read(self, topic: str, partition: int, offset: int, max_bytes: int) -> bytes:
        out = bytearray()
        for base, batch in self.log[(topic, partition)]:
            (last_delta,) = struct.unpack_from(">i", batch, 23)
            if base + last_delta < offset:
                continue
            if out and len(out) + len(batch) > max_bytes:
                break
            out += batch
        return bytes(out)


class Handlers:
    def __init__(self, state: BrokerState):
        self.s = state
        # api_key -> advertised min version replacing the Kafka 4.0 minimum
        # (set by the driver for steps that need pre-4.0 ranges).
        self.min_override: dict[int, int] = {}

    # Each handler returns (response body dict | None for no response, delay seconds).

    def api_versions(self, v, body, hdr):
        override = self.min_override if self is not None else {}
        keys = [{"ApiKey": k, "MinVersion": override.get(k, lo), "MaxVersion": hi}
                for k, (_n, lo, hi, _f) in sorted(APIS.items())]
        return {"ErrorCode": ERR_NONE, "ApiKeys": keys, "ThrottleTimeMs": 0}, 0

    def _broker(self):
        return {"NodeId": NODE_ID, "Host": "127.0.0.1", "Port": self.s.port, "Rack": None}

    def _topic_metadata(self, name, error=ERR_NONE):
        parts = [{"ErrorCode": ERR_NONE, "PartitionIndex": p, "LeaderId": NODE_ID, "LeaderEpoch": 0,
                  "ReplicaNodes": [NODE_ID], "IsrNodes": [NODE_ID], "OfflineReplicas": []}
                 for p in range(self.s.topics.get(name, 0))]
        return {"ErrorCode": error, "Name": name, "TopicId": topic_id(name), "IsInternal": False,
                "Partitions": parts, "TopicAuthorizedOperations": -2147483648}

    def metadata(self, v, body, hdr):
        req = body.get("Topics")
        if req is None or (v == 0 and not req):
            names = sorted(self.s.topics)
        else:
            names = []
            for t in req:
                name = t.get("Name") or self.s.topic_by_id(t.get("TopicId", b""))
                if name:
                    self.s.ensure_topic(name)  # auto-create
                    names.append(name)
        return {
            "ThrottleTimeMs": 0, "Brokers": [self._broker()], "ClusterId": CLUSTER_ID,
            "ControllerId": NODE_ID, "Topics": [self._topic_metadata(n) for n in names],
            "ClusterAuthorizedOperations": -2147483648,
        }, 0

    def produce(self, v, body, hdr):
        responses = []
        for t in body["TopicData"]:
            self.s.ensure_topic(t["Name"])
            parts = []
            for p in t["PartitionData"]:
                if p["Index"] >= self.s.topics[t["Name"]]:
                    parts.append({"Index": p["Index"], "ErrorCode": ERR_UNKNOWN_TOPIC_OR_PARTITION,
                                  "BaseOffset": -1, "LogAppendTimeMs": -1, "LogStartOffset": -1,
                                  "ErrorMessage": None})
                    continue
                base = self.s.append(t["Name"], p["Index"], p["Records"] or b"")
                parts.append({"Index": p["Index"], "ErrorCode": ERR_NONE, "BaseOffset": base,
                              "LogAppendTimeMs": -1, "LogStartOffset": 0, "ErrorMessage": None})
            responses.append({"Name": t["Name"], "PartitionResponses": parts})
        if body["Acks"] == 0:
            return None, 0  # acks=0: the broker sends no response
        return {"Responses": responses, "ThrottleTimeMs": 0}, 0

    def fetch(self, v, body, hdr):
        responses = []
        have_data = False
        for t in body["Topics"]:
            name = t.get("Topic") if v <= 12 else self.s.topic_by_id(t.get("TopicId"))
            parts = []
            for p in t["Partitions"]:
                pi = p["Partition"]
                hw = self.s.next_offset[(name, pi)] if name else 0
                part = {"PartitionIndex": pi, "ErrorCode": ERR_NONE, "HighWatermark": hw,
                        "LastStableOffset": hw, "LogStartOffset": 0, "AbortedTransactions": [],
                        "PreferredReadReplica": -1, "Records": b""}
                if name is None or name not in self.s.topics or pi >= self.s.topics[name]:
                    part.update(ErrorCode=ERR_UNKNOWN_TOPIC_OR_PARTITION, HighWatermark=-1,
                                LastStableOffset=-1, LogStartOffset=-1)
                elif p["FetchOffset"] > hw or p["FetchOffset"] < 0:
                    part.update(ErrorCode=ERR_OFFSET_OUT_OF_RANGE)
                else:
                    data = self.s.read(name, pi, p["FetchOffset"], max(p["PartitionMaxBytes"], 1))
                    part["Records"] = data
                    have_data = have_data or bool(data)
                parts.append(part)
            responses.append({"Topic": name or "", "TopicId": t.get("TopicId"), "Partitions": parts})
        delay = 0 if have_data else min(body["MaxWaitMs"], 1000) / 1000.0
        return {"ThrottleTimeMs": 0, "ErrorCode": ERR_NONE, "SessionId": 0,
                "Responses": responses}, delay

    def list_offsets(self, v, body, hdr):
        topics = []
        for t in body["Topics"]:
            self.s.ensure_topic(t["Name"])
            parts = []
            for p in t["Partitions"]:
                hw = self.s.next_offset[(t["Name"], p["PartitionIndex"])]
                off = 0 if p["Timestamp"] == -2 else hw if p["Timestamp"] == -1 else 0
                parts.append({"PartitionIndex": p["PartitionIndex"], "ErrorCode": ERR_NONE,
                              "OldStyleOffsets": [off], "Timestamp": -1, "Offset": off, "LeaderEpoch": 0})
            topics.append({"Name": t["Name"], "Partitions": parts})
        return {"ThrottleTimeMs": 0, "Topics": topics}, 0

    def find_coordinator(self, v, body, hdr):
        keys = body.get("CoordinatorKeys") if v >= 4 else [body.get("Key")]
        return {
            "ThrottleTimeMs": 0, "ErrorCode": ERR_NONE, "ErrorMessage": None,
            "NodeId": NODE_ID, "Host": "127.0.0.1", "Port": self.s.port,
            "Coordinators": [{"Key": k, "NodeId": NODE_ID, "Host": "127.0.0.1", "Port": self.s.port,
                              "ErrorCode": ERR_NONE, "ErrorMessage": None} for k in keys or []],
        }, 0

    def _group(self, gid):
        return self.s.groups.setdefault(gid, {"generation": 0, "members": {}, "protocol": None,
                                              "protocol_type": None, "assignments": {},
                                              "offsets": {}})

    def join_group(self, v, body, hdr):
        g = self._group(body["GroupId"])
        member = body["MemberId"]
        if not member:
            member = f"{hdr['client_id'] or 'member'}-{self.s.next_member:04d}"
            self.s.next_member += 1
            if v >= 4:
                # KIP-394: the member must rejoin with the id the broker assigned.
                return {"ThrottleTimeMs": 0, "ErrorCode": ERR_MEMBER_ID_REQUIRED, "GenerationId": -1,
                        "ProtocolType": None, "ProtocolName": None if v >= 7 else "", "Leader": "",
                        "MemberId": member, "Members": []}, 0
        protocols = body["Protocols"]
        proto = protocols[0]["Name"] if protocols else ""
        # Single-member group: the joining member replaces any earlier ones.
        g["members"] = {member: {m["Name"]: m["Metadata"] for m in protocols}}
        g["generation"] += 1
        g["protocol"] = proto
        g["protocol_type"] = body["ProtocolType"]
        g["assignments"] = {}
        members = [{"MemberId": member, "GroupInstanceId": body.get("GroupInstanceId"),
                    "Metadata": g["members"][member].get(proto, b"")}]
        return {"ThrottleTimeMs": 0, "ErrorCode": ERR_NONE, "GenerationId": g["generation"],
                "ProtocolType": body["ProtocolType"], "ProtocolName": proto, "Leader": member,
                "SkipAssignment": False, "MemberId": member, "Members": members}, 0

    def sync_group(self, v, body, hdr):
        g = self._group(body["GroupId"])
        member = body["MemberId"]
        if member not in g["members"]:
            return {"ThrottleTimeMs": 0, "ErrorCode": ERR_UNKNOWN_MEMBER_ID, "Assignment": b""}, 0
        for a in body["Assignments"] or []:
            g["assignments"][a["MemberId"]] = a["Assignment"]
        assignment = g["assignments"].get(member)
        if assignment is None and g["protocol_type"] == "consumer":
            # The leader sent nothing for this member: assign every partition
            # of the subscribed topics.
            sub = decode_embedded(g["members"][member].get(g["protocol"], b""), CONSUMER_SUBSCRIPTION) or {}
            topics = {}
            for t in sub.get("Topics") or []:
                self.s.ensure_topic(t)
                topics[t] = list(range(self.s.topics[t]))
            assignment = encode_assignment(topics)
        return {"ThrottleTimeMs": 0, "ErrorCode": ERR_NONE, "ProtocolType": g["protocol_type"],
                "ProtocolName": g["protocol"], "Assignment": assignment or b""}, 0

    def heartbeat(self, v, body, hdr):
        g = self._group(body["GroupId"])
        err = ERR_NONE if body["MemberId"] in g["members"] else ERR_UNKNOWN_MEMBER_ID
        return {"ThrottleTimeMs": 0, "ErrorCode": err}, 0

    def leave_group(self, v, body, hdr):
        g = self._group(body["GroupId"])
        ids = [body["MemberId"]] if v <= 2 else [m["MemberId"] for m in body.get("Members") or []]
        for m in ids:
            g["members"].pop(m, None)
        return {"ThrottleTimeMs": 0, "ErrorCode": ERR_NONE,
                "Members": [{"MemberId": m["MemberId"], "GroupInstanceId": m.get("GroupInstanceId"),
                             "ErrorCode": ERR_NONE} for m in body.get("Members") or []]}, 0

    def offset_commit(self, v, body, hdr):
        g = self._group(body["GroupId"])
        topics = []
        for t in body["Topics"]:
            parts = []
            for p in t["Partitions"]:
                g["offsets"][(t["Name"], p["PartitionIndex"])] = (p["CommittedOffset"], p["CommittedMetadata"])
                parts.append({"PartitionIndex": p["PartitionIndex"], "ErrorCode": ERR_NONE})
            topics.append({"Name": t["Name"], "Partitions": parts})
        return {"ThrottleTimeMs": 0, "Topics": topics}, 0

    def _committed(self, g, topics):
        if topics is None:
            by_topic = collections.defaultdict(list)
            for (t, p) in sorted(g["offsets"]):
                by_topic[t].append(p)
            topics = [{"Name": t, "PartitionIndexes": ps} for t, ps in by_topic.items()]
        out = []
        for t in topics:
            parts = []
            for p in t["PartitionIndexes"]:
                off, meta = g["offsets"].get((t["Name"], p), (-1, ""))
                parts.append({"PartitionIndex": p, "CommittedOffset": off, "CommittedLeaderEpoch": -1,
                              "Metadata": meta if meta is not None else "", "ErrorCode": ERR_NONE})
            out.append({"Name": t["Name"], "Partitions": parts})
        return out

    def offset_fetch(self, v, body, hdr):
        if v <= 7:
            g = self._group(body["GroupId"])
            return {"ThrottleTimeMs": 0, "Topics": self._committed(g, body.get("Topics")),
                    "ErrorCode": ERR_NONE}, 0
        groups = []
        for rg in body["Groups"]:
            g = self._group(rg["GroupId"])
            groups.append({"GroupId": rg["GroupId"], "Topics": self._committed(g, rg.get("Topics")),
                           "ErrorCode": ERR_NONE})
        return {"ThrottleTimeMs": 0, "Groups": groups}, 0

    def create_topics(self, v, body, hdr):
        results = []
        for t in body["Topics"]:
            n = t["NumPartitions"] if t["NumPartitions"] > 0 else 1
            created = body.get("validateOnly") or self.s.ensure_topic(t["Name"], n)
            results.append({
                "Name": t["Name"], "TopicId": topic_id(t["Name"]),
                "ErrorCode": ERR_NONE if created else ERR_TOPIC_ALREADY_EXISTS,
                "ErrorMessage": None if created else f"Topic '{t['Name']}' already exists.",
                "NumPartitions": n, "ReplicationFactor": 1,
                "Configs": [{"Name": c["Name"], "Value": c["Value"], "ReadOnly": False,
                             "ConfigSource": 1, "IsSensitive": False} for c in t["Configs"] or []],
            })
        return {"ThrottleTimeMs": 0, "Topics": results}, 0

    def init_producer_id(self, v, body, hdr):
        pid = self.s.next_producer_id
        self.s.next_producer_id += 1
        return {"ThrottleTimeMs": 0, "ErrorCode": ERR_NONE, "ProducerId": pid, "ProducerEpoch": 0}, 0

    TABLE = {
        18: "api_versions", 3: "metadata", 0: "produce", 1: "fetch", 2: "list_offsets",
        10: "find_coordinator", 11: "join_group", 14: "sync_group", 12: "heartbeat",
        13: "leave_group", 8: "offset_commit", 9: "offset_fetch", 19: "create_topics",
        22: "init_producer_id",
    }


def encode_response(api_key: int, version: int, correlation_id: int, body: dict) -> bytes:
    w = Writer()
    w.int32(correlation_id)
    if response_header_version(api_key, version) == 1:
        w.no_tagged_fields()
    encode_struct(w, RESPONSES[api_key], version, is_flexible(api_key, version), body)
    return struct.pack(">i", len(w.buf)) + bytes(w.buf)


def unsupported_api_versions_response(correlation_id: int) -> bytes:
    """ApiVersions v0 body with UNSUPPORTED_VERSION, as a broker answers a too-new request."""
    body, _ = Handlers.api_versions(None, 0, {}, {})
    body["ErrorCode"] = ERR_UNSUPPORTED_VERSION
    return encode_response(APIVERSIONS_KEY, 0, correlation_id, body)


# ---------------------------------------------------------------------------
# Capturing listener
# ---------------------------------------------------------------------------
MAX_FRAME = 64 * 1024 * 1024


class Conn:
    def __init__(self, sock, peer):
        self.sock = sock
        self.peer = peer
        self.inbuf = bytearray()
        self.outq: collections.deque = collections.deque()  # [due_time, bytes]
        self.wbuf = bytearray()


class CaptureListener:
    """Fake broker: saves request frames and answers them."""

    def __init__(self, out_dir: str, host: str = "127.0.0.1", verbose: bool = False):
        self.out_dir = out_dir
        self.host = host
        self.verbose = verbose
        self.client = "unknown"      # set by the driver before each client run
        self.step = ""
        self.client_info: dict = {}
        self.min_override: dict[int, int] = {}  # see Handlers.min_override
        self.entries: list[dict] = []
        self.seen: set = set()
        self.counts = collections.Counter()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = None
        self._sel = None
        self._lsock = None
        self._conns: dict = {}
        self._drop_all = False
        self.port = 0
        self.state = None
        self.handlers = None

    # -- lifecycle --------------------------------------------------------
    def start(self):
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind((self.host, 0))
        self._lsock.listen(64)
        self._lsock.setblocking(False)
        self.port = self._lsock.getsockname()[1]
        self.state = BrokerState(self.port)
        self.handlers = Handlers(self.state)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._lsock, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="capture-listener", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        for c in list(self._conns.values()):
            self._close(c)
        if self._sel:
            try:
                self._sel.close()
            except Exception:
                pass
        if self._lsock:
            self._lsock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def reset_state(self):
        """Fresh broker state (topics, log, groups) for the next client."""
        with self.state.lock:
            self.state = BrokerState(self.port)
            self.handlers = Handlers(self.state)

    def close_connections(self):
        """Ask the listener thread to drop client connections left over by a finished run."""
        self._drop_all = True

    # -- event loop -------------------------------------------------------
    def _run(self):
        self._drop_all = False
        while not self._stop.is_set():
            try:
                timeout = 0.05
                for key, mask in self._sel.select(timeout):
                    if key.data is None:
                        self._accept()
                    else:
                        conn = key.data
                        if mask & selectors.EVENT_READ:
                            self._read(conn)
                        if mask & selectors.EVENT_WRITE and conn.sock.fileno() != -1:
                            self._write(conn)
                if self._drop_all:
                    self._drop_all = False
                    for c in list(self._conns.values()):
                        self._close(c)
                now = time.monotonic()
                for c in list(self._conns.values()):
                    while c.outq and c.outq[0][0] <= now:
                        c.wbuf += c.outq.popleft()[1]
                    if c.wbuf:
                        self._write(c)
            except Exception:
                log("listener loop error:\n" + traceback.format_exc())

    def _accept(self):
        try:
            sock, peer = self._lsock.accept()
        except (BlockingIOError, OSError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(sock, peer)
        self._conns[sock.fileno()] = conn
        self._sel.register(sock, selectors.EVENT_READ, conn)
        if self.verbose:
            log(f"[{self.client}] connection from {peer}")

    def _close(self, conn):
        fd = conn.sock.fileno()
        if fd == -1:
            return
        try:
            self._sel.unregister(conn.sock)
        except Exception:
            pass
        self._conns.pop(fd, None)
        try:
            conn.sock.close()
        except OSError:
            pass

    def _write(self, conn):
        try:
            n = conn.sock.send(conn.wbuf)
            del conn.wbuf[:n]
        except BlockingIOError:
            pass
        except OSError:
            self._close(conn)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.wbuf else 0)
        try:
            self._sel.modify(conn.sock, events, conn)
        except (KeyError, ValueError):
            pass

    def _read(self, conn):
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        conn.inbuf += data
        while len(conn.inbuf) >= 4:
            (size,) = struct.unpack_from(">i", conn.inbuf, 0)
            if size < 8 or size > MAX_FRAME:
                log(f"[{self.client}] bad frame size {size} from {conn.peer}; closing")
                self._close(conn)
                return
            if len(conn.inbuf) < 4 + size:
                break
            frame = bytes(conn.inbuf[4:4 + size])
            del conn.inbuf[:4 + size]
            if not self._handle_frame(conn, frame):
                self._close(conn)
                return

    # -- requests ---------------------------------------------------------
    def _handle_frame(self, conn, frame: bytes) -> bool:
        """Capture and answer one request; False closes the connection."""
        try:
            hdr = parse_request_header(frame)
        except ProtocolError as e:
            log(f"[{self.client}] unparsable request header ({e}); closing")
            return False
        key, ver, corr = hdr["api_key"], hdr["api_version"], hdr["correlation_id"]
        if key not in APIS:
            log(f"[{self.client}] unknown api key {key} v{ver} (client_id={hdr['client_id']!r}); closing")
            self.errors.append(f"{self.client}: unknown api key {key} v{ver}")
            return False
        name, lo, hi, _flex = APIS[key]
        if key == APIVERSIONS_KEY and ver > hi:
            # A broker answers a too-new ApiVersions with v0 + UNSUPPORTED_VERSION.
            self._save(hdr, frame, {}, 0, note="version newer than the listener supports")
            conn.outq.append([0, unsupported_api_versions_response(corr)])
            return True
        try:
            body, trailing = decode_request_body(hdr, frame)
        except ProtocolError as e:
            log(f"[{self.client}] cannot decode {name} v{ver}: {e}; closing")
            self.errors.append(f"{self.client}: cannot decode {name} v{ver}: {e}")
            self._save(hdr, frame, None, 0, note=f"body not decoded: {e}")
            return False
        self._save(hdr, frame, body, trailing)
        if not lo <= ver <= hi:
            log(f"[{self.client}] {name} v{ver} is outside the advertised range {lo}-{hi}")
        with self.state.lock:
            self.handlers.min_override = self.min_override
            try:
                resp, delay = getattr(self.handlers, Handlers.TABLE[key])(ver, body, hdr)
            except Exception:
                log(f"[{self.client}] handler error for {name} v{ver}:\n{traceback.format_exc()}")
                self.errors.append(f"{self.client}: handler error for {name} v{ver}")
                return False
        if resp is None:
            return True
        try:
            out = encode_response(key, ver, corr, resp)
        except Exception:
            log(f"[{self.client}] encode error for {name} v{ver}:\n{traceback.format_exc()}")
            self.errors.append(f"{self.client}: encode error for {name} v{ver}")
            return False
        due = time.monotonic() + delay
        if conn.outq:
            due = max(due, conn.outq[-1][0])  # responses stay in request order
        conn.outq.append([due, out])
        return True

    def _save(self, hdr, frame, body, trailing, note=None):
        key, ver = hdr["api_key"], hdr["api_version"]
        name, lo, _hi, _flex = APIS[key]
        variant = request_variant(hdr, body) if body else ""
        self.counts[(self.client, name, ver)] += 1
        tag = (self.client, key, ver, variant)
        saved = tag not in self.seen
        if self.verbose or saved:
            log(f"[{self.client}] {name} v{ver}{'-' + variant if variant else ''} corr={hdr['correlation_id']} "
                f"client_id={hdr['client_id']!r} {len(frame)}B{' -> saved' if saved else ''}")
        if not saved:
            return
        self.seen.add(tag)
        fname = f"{name}-v{ver}{'-' + variant if variant else ''}.bin"
        rel = f"{self.client}/{fname}"
        path = os.path.join(self.out_dir, self.client, fname)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(frame)
        entry = {
            "file": rel,
            "client": self.client,
            "client_version": self.client_info.get("version"),
            "client_library": self.client_info.get("library"),
            "step": self.step,
            "api_name": name,
            "api_key": key,
            "api_version": ver,
            "variant": variant or None,
            "flexible": is_flexible(key, ver),
            "request_header_version": hdr["header_version"],
            "header_size": hdr["header_size"],
            "correlation_id": hdr["correlation_id"],
            "client_id": hdr["client_id"],
            "size": len(frame),
            "sha256": hashlib.sha256(frame).hexdigest(),
            "kafka4_min_version": lo,
            "below_kafka4_min": ver < lo,
        }
        if self.min_override:
            entry["advertised_min_override"] = {APIS[k][0]: v for k, v in sorted(self.min_override.items())}
        if hdr["header_tagged_fields"]:
            entry["header_tagged_fields"] = hdr["header_tagged_fields"]
        if body is not None:
            entry["fully_parsed"] = trailing == 0
            if trailing:
                entry["trailing_bytes"] = trailing
            entry["request"] = describe_request(hdr, body)
        if note:
            entry["note"] = note
        self.entries.append(entry)


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


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "data"), help="output directory")
    ap.add_argument("--clients", default=",".join(CLIENTS),
                    help="comma-separated subset of: " + ", ".join(CLIENTS))
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else sys.executable, help="interpreter with kafka-python / confluent_kafka")
    ap.add_argument("--timeout", type=float, default=20.0, help="per client run, seconds")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    out_dir = os.path.abspath(args.out)
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    for c in clients:
        if c not in CLIENTS:
            ap.error(f"unknown client {c!r}")
    os.makedirs(out_dir, exist_ok=True)
    drv = Driver(out_dir, args.python, args.timeout, args.verbose)
    infos = {"kcat": drv.kcat_info(), "confluent-kafka-python": drv.confluent_info(),
             "kafka-python": drv.kafka_python_info()}

    manifest_path = os.path.join(out_dir, "MANIFEST.json")
    old = {}
    if os.path.exists(manifest_path):
        try:
            with open(manifest_path) as f:
                old = json.load(f)
        except (OSError, ValueError):
            old = {}
    entries = [e for e in old.get("files", []) if e.get("client") not in clients]
    client_meta = {k: v for k, v in old.get("clients", {}).items() if k not in clients}
    steps = [s for s in old.get("steps", []) if s.get("client") not in clients]
    errors: list[str] = []

    lst = CaptureListener(out_dir, verbose=args.verbose)
    lst.start()
    log(f"listening on {lst.bootstrap}")
    try:
        for client in clients:
            info = infos.get(client)
            client_dir = os.path.join(out_dir, client)
            if os.path.isdir(client_dir):
                shutil.rmtree(client_dir)
            if not info:
                log(f"[{client}] not available; skipped")
                client_meta[client] = {"skipped": "client not available"}
                continue
            lst.reset_state()
            lst.client = client
            lst.client_info = info
            if client == "kcat":
                drv.run_kcat(lst)
            elif client == "confluent-kafka-python":
                drv.run_confluent(lst)
            else:
                drv.run_kafka_python(lst, info)
            meta = dict(info)
            if client == "kafka-python":
                for s in drv.steps:
                    if s["client"] == client and "api_version" in s.get("stdout_tail", ""):
                        meta["inferred_api_version"] = s["stdout_tail"].split("api_version")[-1].strip()
                        break
            client_meta[client] = meta
    finally:
        lst.stop()

    entries += lst.entries
    entries.sort(key=lambda e: (e["client"], e["api_key"], e["api_version"], e.get("variant") or ""))
    steps += [{k: v for k, v in s.items() if k != "stdout_tail"} for s in drv.steps]
    errors += lst.errors
    for (client, name, ver), n in sorted(lst.counts.items()):
        log(f"[{client}] saw {n} x {name} v{ver}")
    manifest = {
        "description": "Kafka request frames captured from real clients by tests/golden/capture.py. "
                       "Each .bin file is one request frame without its 4-byte size prefix "
                       "(request header + body). 'request' is the decoded body.",
        "regenerate": "/usr/bin/python3 tests/golden/capture.py --out tests/golden/data",
        "clients": client_meta,
        "advertised_api_versions": {APIS[k][0]: {"api_key": k, "min": APIS[k][1], "max": APIS[k][2],
                                                 "first_flexible": APIS[k][3]} for k in sorted(APIS)},
        "produced": produced_data(),
        "steps": steps,
        "listener_errors": errors,
        "files": entries,
    }
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=False)
        f.write("\n")
    log(f"wrote {len(lst.entries)} files and {manifest_path}")
    failed = [s for s in drv.steps if not s.get("ok")]
    for s in failed:
        log(f"failed step: {s['client']} {s['step']}: {s.get('error') or s.get('returncode')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
