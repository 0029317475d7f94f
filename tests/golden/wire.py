"""Kafka wire format for the golden capture listener.

API table, primitive readers/writers, the small schema notation used to
describe messages, and record batch (magic v2) decoding.
"""

from __future__ import annotations

import gzip
import struct
import sys


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
