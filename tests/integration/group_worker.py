"""One consumer-group member in its own process, driven by tests/integration/test_groups.py.

    group_worker.py CLIENT BOOTSTRAP GROUP TOPIC [options]

CLIENT is confluent (confluent-kafka-python / librdkafka) or kafka-python. The worker prints
one JSON object per line on stdout and flushes it:
  {"event": "assigned", "partitions": [...]}   its whole assignment after every change
  {"event": "revoked", "partitions": [...]}    partitions taken away by a rebalance
  {"event": "record", "partition": p, "offset": o, "value": v}   a record processed
It commits each record after processing it (at-least-once), leaves the group on SIGTERM and
dies without a word on SIGKILL.
"""

import argparse
import json
import signal
import sys
import time

stop = False


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def on_term(*_):
    global stop
    stop = True


def run_confluent(args):
    from confluent_kafka import Consumer, TopicPartition

    conf = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": args.session_ms,
        "heartbeat.interval.ms": max(100, args.session_ms // 5),
        "partition.assignment.strategy": args.strategy,
    }
    if args.instance:
        conf["group.instance.id"] = args.instance
    c = Consumer(conf)
    owned = set()

    def assigned(consumer, partitions):
        owned.update(p.partition for p in partitions)
        emit(event="assigned", partitions=sorted(owned))

    def revoked(consumer, partitions):
        gone = {p.partition for p in partitions}
        owned.difference_update(gone)
        emit(event="revoked", partitions=sorted(gone))

    c.subscribe([args.topic], on_assign=assigned, on_revoke=revoked, on_lost=revoked)
    while not stop:
        m = c.poll(0.1)
        if m is None or m.error():
            continue
        emit(event="record", partition=m.partition(), offset=m.offset(),
             value=m.value().decode() if m.value() is not None else None)
        if args.delay_ms:
            time.sleep(args.delay_ms / 1000)
        c.commit(offsets=[TopicPartition(m.topic(), m.partition(), m.offset() + 1)],
                 asynchronous=False)
    c.close()


def run_kafka_python(args):
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
    from kafka.consumer.subscription_state import ConsumerRebalanceListener

    c = KafkaConsumer(bootstrap_servers=args.bootstrap, group_id=args.group,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      session_timeout_ms=args.session_ms,
                      heartbeat_interval_ms=max(100, args.session_ms // 5),
                      api_version_auto_timeout_ms=10000)

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            emit(event="revoked", partitions=sorted(p.partition for p in revoked))

        def on_partitions_assigned(self, assigned):
            emit(event="assigned", partitions=sorted(p.partition for p in assigned))

    c.subscribe([args.topic], listener=Listener())
    while not stop:
        batches = c.poll(timeout_ms=100)
        for tp, msgs in batches.items():
            for m in msgs:
                emit(event="record", partition=m.partition, offset=m.offset,
                     value=m.value.decode() if m.value is not None else None)
                if args.delay_ms:
                    time.sleep(args.delay_ms / 1000)
                c.commit({TopicPartition(m.topic, m.partition): OffsetAndMetadata(m.offset + 1, None)})
    c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("client", choices=["confluent", "kafka-python"])
    ap.add_argument("bootstrap")
    ap.add_argument("group")
    ap.add_argument("topic")
    ap.add_argument("--instance")
    ap.add_argument("--strategy", default="range")
    ap.add_argument("--session-ms", type=int, default=6000)
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    if args.client == "confluent":
        run_confluent(args)
    else:
        run_kafka_python(args)
    emit(event="closed")


if __name__ == "__main__":
    main()
