#!/usr/bin/python3
"""confluent-kafka (librdkafka) driver for Brook's interop tests; run it with /usr/bin/python3.

  confluent.py produce --topic t --count 10 [--codec lz4] [--idempotent] [--transactional-id x]
  confluent.py consume --topic t --count 10 [--group g] [--isolation read_committed]
  confluent.py admin create-topics --topic t --partitions 3 [--config k=v]
  confluent.py group-member --topic t --group g [--strategy range|roundrobin|cooperative-sticky]
  confluent.py version

Each prints JSON lines on stdout; see jsonl.py for the exit codes.
"""

import argparse
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from jsonl import (EXIT_INCOMPLETE, emit, fill, headers_of, now_ms, pairs, sized,
                   stdin_closed, text, watchdog)


def error_of(err):
    """A KafkaError as JSON: Kafka's code for broker errors, librdkafka's negative ones else."""
    if err is None:
        return None
    return {"code": err.code(), "name": err.name(), "message": err.str()}


def base_config(args):
    config = {
        "bootstrap.servers": args.bootstrap,
        "client.id": "brook-confluent-python",
        "socket.timeout.ms": args.timeout_ms,
    }
    if args.debug:
        config["debug"] = args.debug
    config.update(pairs(args.set))
    return config


def produce(args):
    config = base_config(args)
    config.update({"compression.type": args.codec, "acks": args.acks,
                   "linger.ms": args.linger_ms, "enable.idempotence": args.idempotent})
    if args.transactional_id:
        config["transactional.id"] = args.transactional_id
    producer = Producer(config)
    outcomes = {}

    def delivered(index):
        def report(err, msg):
            outcomes[index] = err
            line = {"type": "produced" if err is None else "error", "index": index,
                    "partition": msg.partition(), "offset": msg.offset()}
            if err is not None:
                line["error"] = error_of(err)
            emit(line)
        return report

    if args.transactional_id:
        producer.init_transactions(args.timeout_ms / 1000.0)
        producer.begin_transaction()
    for i in range(args.count):
        value = sized(fill(args.value, i), args.value_bytes)
        kwargs = {"key": fill(args.key, i), "value": value, "headers": headers_of(args.headers, i),
                  "on_delivery": delivered(i)}
        if args.partition >= 0:
            kwargs["partition"] = args.partition
        producer.produce(args.topic, **kwargs)
        producer.poll(0)
    if args.transactional_id:
        finish = producer.abort_transaction if args.abort else producer.commit_transaction
        finish(args.timeout_ms / 1000.0)
    producer.flush(args.timeout_ms / 1000.0)
    for index in range(args.count):
        if index not in outcomes:
            outcomes[index] = "undelivered"
            emit({"type": "error", "index": index, "error": {
                "code": -1, "name": "UNDELIVERED", "message": "no delivery report in time"}})
    failed = sum(1 for err in outcomes.values() if err is not None)
    emit({"type": "summary", "produced": args.count - failed, "failed": failed})
    return EXIT_INCOMPLETE if failed else 0


def start_offset(spec):
    beginning, end = confluent_kafka.OFFSET_BEGINNING, confluent_kafka.OFFSET_END
    named = {"beginning": beginning, "oldest": beginning, "end": end, "newest": end}
    return named[spec] if spec in named else int(spec)


def consume(args):
    config = base_config(args)
    config.update({"group.id": args.group or "brook-interop-unused",
                   "isolation.level": args.isolation, "enable.auto.commit": bool(args.group),
                   "auto.offset.reset": "earliest", "enable.partition.eof": False})
    consumer = Consumer(config)
    if args.group:
        consumer.subscribe([args.topic])
    else:
        consumer.assign([TopicPartition(args.topic, args.partition, start_offset(args.offset))])
    consumed = 0
    deadline = time.monotonic() + args.timeout_ms / 1000.0
    while consumed < args.count and time.monotonic() < deadline:
        msg = consumer.poll(min(0.5, max(0.0, deadline - time.monotonic())))
        if msg is None:
            continue
        if msg.error() is not None:
            emit({"type": "error", "index": consumed, "error": error_of(msg.error())})
            continue
        emit(record_line(msg))
        consumed += 1
    consumer.close()
    emit({"type": "summary", "consumed": consumed, "complete": consumed >= args.count})
    return 0 if consumed >= args.count else EXIT_INCOMPLETE


def record_line(msg):
    _kind, timestamp_ms = msg.timestamp()
    return {"type": "record", "topic": msg.topic(), "partition": msg.partition(),
            "offset": msg.offset(), "timestampMs": timestamp_ms, "key": text(msg.key()),
            "value": text(msg.value()),
            "headers": {k: text(v) for k, v in (msg.headers() or [])}}


def group_member(args):
    """A group member until stdin closes: reports each assignment change, and each record once
    its offset is committed synchronously, then leaves the group cleanly."""
    config = base_config(args)
    config.update({"group.id": args.group, "enable.auto.commit": False,
                   "auto.offset.reset": "earliest", "enable.partition.eof": False,
                   "partition.assignment.strategy": args.strategy,
                   "session.timeout.ms": args.session_timeout_ms,
                   "heartbeat.interval.ms": max(100, args.session_timeout_ms // 10)})
    consumer = Consumer(config)

    def change(kind):
        def report(_consumer, partitions):
            emit({"type": kind, "partitions": sorted(p.partition for p in partitions),
                  "t": now_ms()})
        return report

    consumer.subscribe([args.topic], on_assign=change("assigned"), on_revoke=change("revoked"),
                       on_lost=change("revoked"))
    stop = stdin_closed()
    while not stop.is_set():
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        if msg.error() is not None:
            emit({"type": "error", "error": error_of(msg.error())})
            continue
        received_ms = now_ms()
        consumer.commit(message=msg, asynchronous=False)
        emit({"type": "record", "partition": msg.partition(), "offset": msg.offset(),
              "value": text(msg.value()), "t": received_ms})
    consumer.close()
    emit({"type": "closed", "t": now_ms()})
    return 0


def admin(args):
    client = AdminClient(base_config(args))
    timeout_s = args.timeout_ms / 1000.0
    if args.op == "metadata":
        emit(metadata_line(client.list_topics(topic=args.topic, timeout=timeout_s)))
        return 0
    if args.op == "list-groups":
        for group in client.list_groups(timeout=timeout_s):
            emit({"type": "group", "id": group.id, "state": group.state,
                  "protocolType": group.protocol_type, "protocol": group.protocol,
                  "error": error_of(group.error), "members": [m.id for m in group.members]})
        return 0
    futures = admin_request(client, args)
    failed = 0
    for name, future in futures.items():
        line = {"type": "result", "op": args.op, "name": str(name), "error": None}
        try:
            result = future.result(timeout=timeout_s)
            if args.op == "describe-configs":
                line["configs"] = {k: v.value for k, v in result.items()}
        except KafkaException as exc:
            line["error"] = error_of(exc.args[0])
            failed += 1
        emit(line)
    return EXIT_INCOMPLETE if failed else 0


def admin_request(client, args):
    timeout_s = args.timeout_ms / 1000.0
    if args.op == "create-topics":
        return client.create_topics(
            [NewTopic(t, args.partitions, args.replication_factor, config=pairs(args.config))
             for t in args.topic_list], operation_timeout=timeout_s, request_timeout=timeout_s)
    if args.op == "delete-topics":
        return client.delete_topics(args.topic_list, operation_timeout=timeout_s,
                                    request_timeout=timeout_s)
    if args.op == "create-partitions":
        return client.create_partitions(
            [NewPartitions(t, args.partitions) for t in args.topic_list],
            operation_timeout=timeout_s, request_timeout=timeout_s)
    if args.op == "describe-configs":
        return client.describe_configs(
            [ConfigResource(ConfigResource.Type.TOPIC, t) for t in args.topic_list],
            request_timeout=timeout_s)
    raise AssertionError(args.op)


def metadata_line(md):
    return {"type": "metadata", "clusterId": md.cluster_id, "controllerId": md.controller_id,
            "brokers": sorted(({"id": b.id, "host": b.host, "port": b.port}
                               for b in md.brokers.values()), key=lambda b: b["id"]),
            "topics": sorted(({"name": t.topic, "error": error_of(t.error),
                               "partitions": sorted(({"id": p.id, "leader": p.leader,
                                                      "replicas": p.replicas, "isrs": p.isrs,
                                                      "error": error_of(p.error)}
                                                     for p in t.partitions.values()),
                                                    key=lambda p: p["id"])}
                              for t in md.topics.values()), key=lambda t: t["name"])}


def version(_args):
    emit({"type": "version", "client": confluent_kafka.version()[0],
          "librdkafka": confluent_kafka.libversion()[0]})
    return 0


def parser():
    top = argparse.ArgumentParser(description="confluent-kafka driver for Brook interop tests")
    sub = top.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bootstrap", default="127.0.0.1:9092")
    common.add_argument("--timeout-ms", type=int, default=10000)
    common.add_argument("--debug", default="", help="librdkafka debug contexts, e.g. protocol")
    common.add_argument("--set", "-X", action="append", help="extra librdkafka config k=v")
    sub.add_parser("version", parents=[common])
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
    p.add_argument("--idempotent", action="store_true")
    p.add_argument("--transactional-id", default="")
    p.add_argument("--abort", action="store_true", help="abort the transaction instead")
    c = sub.add_parser("consume", parents=[common])
    c.add_argument("--topic", required=True)
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--partition", type=int, default=0)
    c.add_argument("--offset", default="beginning")
    c.add_argument("--group", default="", help="subscribe as this group instead of assigning")
    c.add_argument("--isolation", default="read_uncommitted",
                   choices=["read_uncommitted", "read_committed"])
    g = sub.add_parser("group-member", parents=[common])
    g.add_argument("--topic", required=True)
    g.add_argument("--group", required=True)
    g.add_argument("--strategy", default="range",
                   choices=["range", "roundrobin", "cooperative-sticky"])
    g.add_argument("--session-timeout-ms", type=int, default=6000)
    a = sub.add_parser("admin", parents=[common])
    a.add_argument("op", choices=["create-topics", "delete-topics", "create-partitions",
                                  "describe-configs", "metadata", "list-groups"])
    a.add_argument("--topic", dest="topic_list", action="append", default=[])
    a.add_argument("--partitions", type=int, default=1)
    a.add_argument("--replication-factor", type=int, default=1)
    a.add_argument("--config", action="append", help="topic config k=v (create-topics)")
    return top


def main():
    args = parser().parse_args()
    if getattr(args, "topic_list", None) is not None:
        args.topic = args.topic_list[0] if args.topic_list else None
    watchdog(args.timeout_ms + 5000)
    commands = {"produce": produce, "consume": consume, "admin": admin, "version": version,
                "group-member": group_member}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
