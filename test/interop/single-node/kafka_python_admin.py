#!/usr/bin/python3
"""kafka-python's KafkaAdminClient against Brook: one admin sequence, one JSON line per step.

  kafka_python_admin.py BOOTSTRAP TOPIC

Creates TOPIC (1 partition, retention.ms=60000), describes its configs with synonyms,
replaces them with alter_configs, grows it to 3 partitions and deletes it. Run with
/usr/bin/python3 (Debian's python3-kafka).
"""

import json
import sys

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import KafkaError


def emit(step, **fields):
    print(json.dumps({"type": "step", "step": step, **fields}), flush=True)


def attempt(run):
    """None when the call succeeded, else the error's class name."""
    try:
        run()
        return None
    except KafkaError as error:
        return type(error).__name__


def describe(admin, resource):
    [response] = admin.describe_configs([resource], include_synonyms=True)
    [(error_code, _message, _type, _name, entries)] = response.resources
    configs = {
        name: {"value": value, "read_only": read_only, "source": source,
               "synonyms": [list(s) for s in synonyms]}
        for (name, value, read_only, source, _sensitive, synonyms) in entries
    }
    return {"error": error_code, "configs": configs}


def main(bootstrap, topic):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="brook-kafka-python-admin",
                             request_timeout_ms=20000)
    emit("create", error=attempt(lambda: admin.create_topics(
        [NewTopic(topic, 1, 1, topic_configs={"retention.ms": "60000"})])))
    resource = ConfigResource(ConfigResourceType.TOPIC, topic)
    emit("describe-topic", **describe(admin, resource))
    emit("describe-broker", **describe(admin, ConfigResource(ConfigResourceType.BROKER, "1")))
    replace = ConfigResource(ConfigResourceType.TOPIC, topic,
                             configs={"cleanup.policy": "compact"})
    [altered] = admin.alter_configs([replace]).resources
    emit("alter", error=altered[0])
    emit("describe-altered", **describe(admin, resource))
    emit("create-partitions", error=attempt(lambda: admin.create_partitions(
        {topic: NewPartitions(3)})))
    emit("delete", error=attempt(lambda: admin.delete_topics([topic])))
    emit("topics", names=sorted(admin.list_topics()))
    admin.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
