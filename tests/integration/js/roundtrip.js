// kafkajs against a kfk broker, driven by tests/integration/test_kafkajs.py.
//
//   node roundtrip.js produce BOOTSTRAP TOPIC   admin: createTopics, fetchTopicMetadata; producer:
//                                               keyed records with headers, once per codec;
//                                               admin: fetchTopicOffsets (ListOffsets)
//   node roundtrip.js consume BOOTSTRAP TOPIC N a consumer in a group reads N records from the
//                                               start of TOPIC
//
// Prints one JSON object on stdout; kafkajs's own log lines go to stderr. Exits non-zero (with
// the error on stderr) when any call fails or the consumer does not get N records in 30 s.
"use strict";

const { Kafka, CompressionTypes, Partitioners, logLevel } = require("kafkajs");

const PARTITIONS = 3;
// The codecs kafkajs supports without extra packages.
const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP };
const PER_CODEC = 20;

function client(bootstrap) {
  return new Kafka({
    clientId: "kfk-kafkajs-test",
    brokers: [bootstrap],
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 3 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log }) =>
      process.stderr.write(`kafkajs ${level} ${namespace}: ${log.message}\n`),
  });
}

// The records sent for one codec: keys spread them over the partitions; one has no key, one an
// empty value, every one carries two headers (one of them binary).
function records(codec) {
  const out = [];
  for (let i = 0; i < PER_CODEC; i++) {
    out.push({
      key: i === 0 ? null : `${codec}-key-${i % 7}`,
      value: i === 1 ? "" : `${codec} value ${i} ` + "x".repeat(i * 50),
      headers: { codec, seq: Buffer.from([0, i, 255]) },
    });
  }
  return out;
}

async function produce(bootstrap, topic) {
  const kafka = client(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });

  // The Java client's partitioner (murmur2 of the key), kafkajs's default since 2.0.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const sent = [];
  for (const [codec, compression] of Object.entries(CODECS)) {
    const msgs = records(codec);
    const result = await producer.send({ topic, acks: -1, compression, messages: msgs });
    sent.push({
      codec,
      records: msgs.map((m) => ({
        key: m.key,
        value: m.value,
        headers: { codec: m.headers.codec, seq: m.headers.seq.toString("hex") },
      })),
      result: result.map((r) => ({
        partition: r.partition,
        errorCode: r.errorCode,
        baseOffset: r.baseOffset,
      })),
    });
  }
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  const earliest = await admin.fetchTopicOffsetsByTimestamp(topic, 0);
  await admin.disconnect();
  return {
    created,
    metadata: metadata.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partition: p.partitionId,
        leader: p.leader,
        errorCode: p.partitionErrorCode,
      })),
    })),
    sent,
    offsets: offsets.map((o) => ({
      partition: o.partition,
      low: Number(o.low),
      high: Number(o.high),
    })),
    earliest: earliest.map((o) => ({ partition: o.partition, offset: Number(o.offset) })),
  };
}

async function consume(bootstrap, topic, count) {
  const kafka = client(bootstrap);
  const consumer = kafka.consumer({ groupId: `kfk-kafkajs-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const got = [];
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers = {};
      for (const [k, v] of Object.entries(message.headers || {})) {
        headers[k] = k === "seq" ? v.toString("hex") : v.toString();
      }
      got.push({
        partition,
        offset: Number(message.offset),
        key: message.key === null ? null : message.key.toString(),
        value: message.value === null ? null : message.value.toString(),
        headers,
      });
      if (got.length >= count) finish();
    },
  });
  const timer = setTimeout(finish, 30000);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  if (got.length < count) throw new Error(`consumer got ${got.length} of ${count} records`);
  return { records: got };
}

async function main() {
  const [mode, bootstrap, topic, count] = process.argv.slice(2);
  let out;
  if (mode === "produce") out = await produce(bootstrap, topic);
  else if (mode === "consume") out = await consume(bootstrap, topic, Number(count));
  else throw new Error(`unknown mode ${mode}`);
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  process.stderr.write(`roundtrip.js: ${err.stack || err}\n`);
  process.exit(1);
});
