#!/usr/bin/python3
"""kafka-python driver for Brook's interop tests; run it with /usr/bin/python3.

  kafka_python.py produce --topic t --count 10 [--codec gzip] [--api-version 2.1.0]
  kafka_python.py consume --topic t --count 10 [--group g]
  kafka_python.py admin create-topics --topic t --partitions 3
  kafka_python.py metadata [--topic t]
  kafka_python.py group-member --topic t --group g [--strategy range|roundrobin]
  kafka_python.py version

kafka-python sends old request versions and relies on Metadata auto-creating topics. Each
command prints JSON lines on stdout; see jsonl.py for the exit codes.
"""

import argparse
import sys
import time

import kafka
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewPartitions, NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.structs import OffsetAndMetadata
from kafka.errors import KafkaError

from jsonl import (EXIT_INCOMPLETE, emit, fill, headers_of, now_ms, pairs, sized,
                   stdin_closed, text, watchdog)


def error_of(exc):
    """A kafka-python error as JSON: Kafka's error code when the broker sent one, else -1."""
    code = getattr(exc, "errno", None)
    return {"code": -1 if code is None else code, "name": type(exc).__name__, "message": str(exc)}


def base_config(args):
    config = {"bootstrap_servers": args.bootstrap.split(","), "client_id": "brook-kafka-python",
              "request_timeout_ms": args.timeout_ms}
    if args.api_version:
        config["api_version"] = tuple(int(p) for p in args.api_version.split("."))
    return config


def consumer_config(args):
    """kafka-python refuses a request timeout at or below the session timeout: keep it above."""
    config = base_config(args)
    config.update({"session_timeout_ms": 6000, "heartbeat_interval_ms": 2000,
                   "request_timeout_ms": max(args.timeout_ms, 10000)})
    return config


def produce(args):
    config = base_config(args)
    config.update({"acks": args.acks if args.acks == "all" else int(args.acks),
                   "compression_type": None if args.codec == "none" else args.codec,
                   "linger_ms": args.linger_ms, "max_block_ms": args.timeout_ms})
    producer = KafkaProducer(**config)
    futures = []
    for i in range(args.count):
        key = fill(args.key, i)
        value = sized(fill(args.value, i), args.value_bytes)
        futures.append(producer.send(
            args.topic, key=None if key is None else key.encode(), value=value.encode(),
            headers=headers_of(args.headers, i),
            partition=args.partition if args.partition >= 0 else None))
    producer.flush(args.timeout_ms / 1000.0)
    failed = 0
    for i, future in enumerate(futures):
        try:
            meta = future.get(timeout=args.timeout_ms / 1000.0)
            emit({"type": "produced", "index": i, "partition": meta.partition,
                  "offset": meta.offset})
        except KafkaError as exc:
            failed += 1
            emit({"type": "error", "index": i, "error": error_of(exc)})
    producer.close(args.timeout_ms / 1000.0)
    emit({"type": "summary", "produced": args.count - failed, "failed": failed})
    return EXIT_INCOMPLETE if failed else 0


class Reporter(ConsumerRebalanceListener):
    """Prints each assignment change; kafka-python's protocol is eager (all out, all in)."""

    def on_partitions_revoked(self, revoked):
        emit({"type": "revoked", "partitions": sorted(tp.partition for tp in revoked),
              "t": now_ms()})

    def on_partitions_assigned(self, assigned):
        emit({"type": "assigned", "partitions": sorted(tp.partition for tp in assigned),
              "t": now_ms()})


def group_member(args):
    """A group member until stdin closes: each record is reported once its offset is committed
    synchronously; then it leaves the group cleanly."""
    # Not kafka-python 2.0.2's sticky assignor: it raises while encoding its metadata when a
    # member rejoins, whatever the broker.
    assignors = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}
    config = consumer_config(args)
    config.update({"group_id": args.group, "auto_offset_reset": "earliest",
                   "enable_auto_commit": False, "session_timeout_ms": args.session_timeout_ms,
                   "heartbeat_interval_ms": max(100, args.session_timeout_ms // 10),
                   "partition_assignment_strategy": [assignors[args.strategy]],
                   "fetch_max_wait_ms": 200})
    consumer = KafkaConsumer(**config)
    consumer.subscribe([args.topic], listener=Reporter())
    stop = stdin_closed()
    while not stop.is_set():
        for tp, records in consumer.poll(timeout_ms=100).items():
            for record in records:
                received_ms = now_ms()
                consumer.commit({tp: OffsetAndMetadata(record.offset + 1, None)})
                emit({"type": "record", "partition": tp.partition, "offset": record.offset,
                      "value": text(record.value), "t": received_ms})
    consumer.close()
    emit({"type": "closed", "t": now_ms()})
    return 0


def consume(args):
    config = consumer_config(args)
    config.update({"group_id": args.group or None, "auto_offset_reset": "earliest",
                   "enable_auto_commit": bool(args.group), "consumer_timeout_ms": 500})
    consumer = KafkaConsumer(**config)
    if args.group:
        consumer.subscribe([args.topic])
    else:
        partition = TopicPartition(args.topic, args.partition)
        consumer.assign([partition])
        seek(consumer, partition, args.offset)
    consumed = 0
    deadline = time.monotonic() + args.timeout_ms / 1000.0
    while consumed < args.count and time.monotonic() < deadline:
        batches = consumer.poll(timeout_ms=250, max_records=args.count - consumed)
        for records in batches.values():
            for record in records:
                emit(record_line(record))
                consumed += 1
    consumer.close()
    emit({"type": "summary", "consumed": consumed, "complete": consumed >= args.count})
    return 0 if consumed >= args.count else EXIT_INCOMPLETE


def seek(consumer, partition, spec):
    if spec in ("beginning", "oldest"):
        consumer.seek_to_beginning(partition)
    elif spec in ("end", "newest"):
        consumer.seek_to_end(partition)
    else:
        consumer.seek(partition, int(spec))


def record_line(record):
    return {"type": "record", "topic": record.topic, "partition": record.partition,
            "offset": record.offset, "timestampMs": record.timestamp, "key": text(record.key),
            "value": text(record.value),
            "headers": {k: text(v) for k, v in (record.headers or [])}}


def admin(args):
    client = KafkaAdminClient(**base_config(args))
    try:
        if args.op == "create-topics":
            topics = [NewTopic(t, args.partitions, args.replication_factor,
                               topic_configs=pairs(args.config)) for t in args.topic_list]
            response = client.create_topics(topics, timeout_ms=args.timeout_ms)
        elif args.op == "delete-topics":
            response = client.delete_topics(args.topic_list, timeout_ms=args.timeout_ms)
        else:
            partitions = {t: NewPartitions(args.partitions) for t in args.topic_list}
            response = client.create_partitions(partitions, timeout_ms=args.timeout_ms)
    except KafkaError as exc:
        emit({"type": "result", "op": args.op, "name": None, "error": error_of(exc)})
        return EXIT_INCOMPLETE
    finally:
        client.close()
    failed = 0
    for entry in getattr(response, "topic_errors", None) or getattr(response, "topic_error_codes",
                                                                    []):
        name, code = entry[0], entry[1]
        failed += code != 0
        emit({"type": "result", "op": args.op, "name": name,
              "error": None if code == 0 else {"code": code, "name": None, "message": None}})
    return EXIT_INCOMPLETE if failed else 0


def metadata(args):
    consumer = KafkaConsumer(**consumer_config(args))
    topics = consumer.topics() if not args.topic_list else set(args.topic_list)
    cluster = consumer._client.cluster
    for name in sorted(topics):
        emit({"type": "topic", "name": name,
              "partitions": sorted(consumer.partitions_for_topic(name) or [])})
    emit({"type": "brokers", "brokers": sorted(({"id": b.nodeId, "host": b.host, "port": b.port}
                                               for b in cluster.brokers()),
                                              key=lambda b: b["id"])})
    consumer.close()
    return 0


def version(_args):
    emit({"type": "version", "client": kafka.__version__})
    return 0


def parser():
    top = argparse.ArgumentParser(description="kafka-python driver for Brook interop tests")
    sub = top.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bootstrap", default="127.0.0.1:9092")
    common.add_argument("--timeout-ms", type=int, default=10000)
    common.add_argument("--api-version", default="", help="e.g. 2.1.0; empty probes the broker")
    sub.add_parser("version", parents=[common])
    m = sub.add_parser("metadata", parents=[common])
    m.add_argument("--topic", dest="topic_list", action="append", default=[])
    p = sub.add_parser("produce", parents=[common])
    p.add_argument("--topic", required=True)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--partition", type=int, default=-1)
    p.add_argument("--key", default="key-%d")
    p.add_argument("--no-key", dest="key", action="store_const", const=None)
    p.add_argument("--value", default="value-%d")
    p.add_argument("--value-bytes", type=int, default=0)
    p.add_argument("--headers", default="")
    p.add_argument("--codec", default="none", choices=["none", "gzip", "snappy", "lz4", "zstd"])
    p.add_argument("--acks", default="all", choices=["all", "-1", "1", "0"])
    p.add_argument("--linger-ms", type=int, default=5)
    c = sub.add_parser("consume", parents=[common])
    c.add_argument("--topic", required=True)
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--partition", type=int, default=0)
    c.add_argument("--offset", default="beginning")
    c.add_argument("--group", default="")
    g = sub.add_parser("group-member", parents=[common])
    g.add_argument("--topic", required=True)
    g.add_argument("--group", required=True)
    g.add_argument("--strategy", default="range", choices=["range", "roundrobin"])
    g.add_argument("--session-timeout-ms", type=int, default=6000)
    a = sub.add_parser("admin", parents=[common])
    a.add_argument("op", choices=["create-topics", "delete-topics", "create-partitions"])
    a.add_argument("--topic", dest="topic_list", action="append", default=[])
    a.add_argument("--partitions", type=int, default=1)
    a.add_argument("--replication-factor", type=int, default=1)
    a.add_argument("--config", action="append")
    return top


def main():
    args = parser().parse_args()
    watchdog(args.timeout_ms + 5000)
    commands = {"produce": produce, "consume": consume, "admin": admin, "metadata": metadata,
                "version": version, "group-member": group_member}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
