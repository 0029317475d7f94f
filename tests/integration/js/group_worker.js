// One kafkajs consumer-group member, driven by tests/integration/test_groups.py like
// group_worker.py: node group_worker.js BOOTSTRAP GROUP TOPIC SESSION_MS
// Prints JSON lines on stdout: {"event":"assigned","partitions":[...]} after every group join,
// {"event":"record",...} per record processed (committed after processing), and
// {"event":"closed"} after a clean disconnect on SIGTERM (which leaves the group).
"use strict";

const { Kafka, logLevel } = require("kafkajs");

const [bootstrap, groupId, topic, sessionMs] = process.argv.slice(2);

function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

async function main() {
  const kafka = new Kafka({
    clientId: "kfk-kafkajs-group",
    brokers: [bootstrap],
    logLevel: logLevel.ERROR,
    logCreator: () => ({ namespace, level, log }) =>
      process.stderr.write(`kafkajs ${level} ${namespace}: ${log.message}\n`),
  });
  const session = Number(sessionMs);
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: session,
    rebalanceTimeout: session * 2,
    heartbeatInterval: Math.max(100, Math.floor(session / 5)),
    // kafkajs heartbeats between fetches: a long poll must end well within the session.
    maxWaitTimeInMs: Math.min(5000, Math.floor(session / 4)),
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const mine = e.payload.memberAssignment[topic] || [];
    emit({ event: "assigned", partitions: [...mine].sort((a, b) => a - b) });
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      emit({
        event: "record",
        partition,
        offset: Number(message.offset),
        value: message.value === null ? null : message.value.toString(),
      });
      await consumer.commitOffsets([
        { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
      ]);
    },
  });
  const stop = async () => {
    await consumer.disconnect();
    emit({ event: "closed" });
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
