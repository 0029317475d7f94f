"""Producer for the crash test: sends numbered records with acks=all and idempotence until it
is killed, and appends one line per acknowledged record to a file ("value partition offset"),
flushed at once, so the file lists exactly what the broker acknowledged."""

import sys

from confluent_kafka import Producer


def main():
    bootstrap, topic, first, ack_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    out = open(ack_path, "a", buffering=1)

    def on_delivery(err, msg):
        if err is None:
            out.write(f"{msg.value().decode()} {msg.partition()} {msg.offset()}\n")

    p = Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 2,
        "message.timeout.ms": 60000,
        "reconnect.backoff.ms": 20,
        "reconnect.backoff.max.ms": 200,
    })
    n = first
    while True:
        try:
            p.produce(topic, value=str(n).encode(), key=str(n % 7).encode(), on_delivery=on_delivery)
            n += 1
        except BufferError:
            p.poll(0.05)
        p.poll(0)


if __name__ == "__main__":
    main()
