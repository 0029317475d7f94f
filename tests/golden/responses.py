"""Broker state and the hand-encoded responses per API."""

from __future__ import annotations

import collections
import hashlib
import struct
import threading

from wire import (
    APIS, APIVERSIONS_KEY, CLUSTER_ID, ERR_MEMBER_ID_REQUIRED, ERR_NONE,
    ERR_OFFSET_OUT_OF_RANGE, ERR_TOPIC_ALREADY_EXISTS, ERR_UNKNOWN_MEMBER_ID,
    ERR_UNKNOWN_TOPIC_OR_PARTITION, ERR_UNSUPPORTED_VERSION, NODE_ID, Writer, encode_struct,
    is_flexible, response_header_version,
)
from schemas import CONSUMER_SUBSCRIPTION, RESPONSES, decode_embedded, encode_assignment


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
