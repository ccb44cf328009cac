#!/usr/bin/python3
"""ListOffsets through a Python client's own API: earliest, latest and the first offset at or
after a timestamp, printed as one JSON line.

  list_offsets.py confluent|kafka_python BOOTSTRAP TOPIC PARTITION TIMESTAMP_MS

Run with /usr/bin/python3 (Debian's python3-confluent-kafka and python3-kafka).
"""

import json
import sys

TIMEOUT_S = 20


def with_confluent(bootstrap, topic, partition, timestamp_ms):
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "brook-list-offsets"})
    try:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=TIMEOUT_S, cached=False)
        [found] = consumer.offsets_for_times(
            [TopicPartition(topic, partition, timestamp_ms)], timeout=TIMEOUT_S)
        return {"earliest": low, "latest": high, "byTime": found.offset}
    finally:
        consumer.close()


def with_kafka_python(bootstrap, topic, partition, timestamp_ms):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
    try:
        tp = TopicPartition(topic, partition)
        found = consumer.offsets_for_times({tp: timestamp_ms})[tp]
        return {"earliest": consumer.beginning_offsets([tp])[tp],
                "latest": consumer.end_offsets([tp])[tp],
                "byTime": None if found is None else found.offset}
    finally:
        consumer.close()


def main(client, bootstrap, topic, partition, timestamp_ms):
    run = with_confluent if client == "confluent" else with_kafka_python
    result = run(bootstrap, topic, int(partition), int(timestamp_ms))
    print(json.dumps({"type": "offsets", **result}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
