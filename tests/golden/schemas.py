"""Request and response schemas, and request header parsing/description."""

from __future__ import annotations

from wire import (
    APIS, Field, ProtocolError, Reader, Writer, batch_codec, batch_producer_id, decode_struct,
    describe_records, encode_struct, is_flexible, request_header_version, schema,
)


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
