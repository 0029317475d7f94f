#!/usr/bin/python3
"""Writes kafka-python-<codec>.bin: one v2 batch per codec, built by kafka-python, and
kafka-python-v<magic>-<codec>.bin: legacy message sets (magic 0 and 1).

Needs python3-kafka, python3-snappy, python3-lz4 and python3-zstandard. The records are
the ones record_batch_test.cpp expects; change both together.
"""
import os
import struct
import sys

from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
BASE_TS = 1700000000000


def records():
    out = []
    for i in range(10):
        key = None if i == 3 else b"key-%d" % i
        value = None if i == 4 else (b"value-%d " % i) * 20
        headers = [("h1", b"v%d" % i), ("h2", None)] if i % 2 == 0 else []
        out.append((i, BASE_TS + i * 7, key, value, headers))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, codec in CODECS.items():
        b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=0,
                                      producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                      batch_size=1 << 20)
        for offset, ts, key, value, headers in records():
            if b.append(offset, ts, key, value, headers) is None:
                sys.exit("record did not fit")
        data = bytes(b.build())
        if data[22] & 7 != codec:
            sys.exit("%s: kafka-python wrote the batch uncompressed" % name)
        with open(os.path.join(here, "kafka-python-%s.bin" % name), "wb") as f:
            f.write(data)

    # Legacy: five records; compressed sets are one wrapper message.
    for magic in (0, 1):
        for name in ("none", "gzip", "snappy", "lz4"):
            if magic == 0 and name == "lz4":
                continue  # v0 lz4 used a broken frame checksum; not supported
            b = LegacyRecordBatchBuilder(magic=magic, compression_type=CODECS[name],
                                         batch_size=1 << 20)
            for i in range(5):
                value = None if i == 2 else (b"legacy-%d " % i) * 10
                if b.append(i, BASE_TS + i, b"k%d" % i, value) is None:
                    sys.exit("record did not fit")
            data = bytearray(b.build())
            if name != "none":
                # The broker gives a wrapper the offset of its last inner message; the
                # offset is outside the message CRC.
                struct.pack_into(">q", data, 0, 4)
            path = os.path.join(here, "kafka-python-v%d-%s.bin" % (magic, name))
            with open(path, "wb") as f:
                f.write(bytes(data))


if __name__ == "__main__":
    main()
