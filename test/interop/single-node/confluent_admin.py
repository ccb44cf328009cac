#!/usr/bin/python3
"""confluent-kafka AdminClient against Brook: one admin sequence, one JSON line per step.

  confluent_admin.py BOOTSTRAP TOPIC

Creates TOPIC (2 partitions, retention.ms=60000), describes its configs and broker 1's,
replaces its configs with alter_configs, grows it to 4 partitions, lists its metadata and
deletes it. Run with /usr/bin/python3 (Debian's python3-confluent-kafka).
"""

import json
import sys

from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

TIMEOUT_S = 20


def emit(step, **fields):
    print(json.dumps({"type": "step", "step": step, **fields}), flush=True)


def wait_all(futures):
    """Each future's error (None when it succeeded), by key as text."""
    out = {}
    for key, future in futures.items():
        try:
            future.result(timeout=TIMEOUT_S)
            out[str(key)] = None
        except Exception as error:  # noqa: BLE001 - the test asserts on the text
            out[str(key)] = str(error)
    return out


def entries(resource_configs):
    return {
        name: {
            "value": entry.value,
            "source": entry.source,
            "read_only": entry.is_read_only,
            "synonyms": [[s.name, s.value, s.source] for s in entry.synonyms.values()],
        }
        for name, entry in resource_configs.items()
    }


def describe(admin, resource):
    future = admin.describe_configs([resource], request_timeout=TIMEOUT_S)[resource]
    return entries(future.result(timeout=TIMEOUT_S))


def main(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap, "client.id": "brook-confluent-admin"})
    created = admin.create_topics(
        [NewTopic(topic, 2, 1, config={"retention.ms": "60000"})],
        request_timeout=TIMEOUT_S)
    emit("create", errors=wait_all(created))
    again = admin.create_topics([NewTopic(topic, 1, 1)], request_timeout=TIMEOUT_S)
    emit("create-again", errors=wait_all(again))
    topic_resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    emit("describe-topic", configs=describe(admin, topic_resource))
    broker_resource = ConfigResource(ConfigResource.Type.BROKER, "1")
    emit("describe-broker", configs=describe(admin, broker_resource))
    replace = ConfigResource(ConfigResource.Type.TOPIC, topic,
                             set_config={"cleanup.policy": "compact", "segment.ms": "100000"})
    emit("alter", errors=wait_all(admin.alter_configs([replace], request_timeout=TIMEOUT_S)))
    emit("describe-altered", configs=describe(admin, topic_resource))
    grown = admin.create_partitions([NewPartitions(topic, 4)], request_timeout=TIMEOUT_S)
    emit("create-partitions", errors=wait_all(grown))
    metadata = admin.list_topics(topic, timeout=TIMEOUT_S)
    emit("metadata", partitions=len(metadata.topics[topic].partitions))
    deleted = admin.delete_topics([topic], request_timeout=TIMEOUT_S)
    emit("delete", errors=wait_all(deleted))
    emit("topics", names=sorted(admin.list_topics(timeout=TIMEOUT_S).topics))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
