package main

import (
	"context"
	"flag"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

// groupLine is what a group member reports: "assigned" / "revoked" with partitions, "record"
// with partition, offset and value, all with t, wall-clock milliseconds comparable across
// processes.
type groupLine map[string]interface{}

// Claims are consumed on one goroutine each, so lines go out under a lock.
var emitLock sync.Mutex

func emitGroup(line groupLine) {
	emitLock.Lock()
	defer emitLock.Unlock()
	emit(line)
}

func nowMs() int64 { return time.Now().UnixNano() / int64(time.Millisecond) }

type member struct{ topic string }

func (m member) claimed(s sarama.ConsumerGroupSession) []int32 {
	partitions := append([]int32(nil), s.Claims()[m.topic]...)
	sort.Slice(partitions, func(i, j int) bool { return partitions[i] < partitions[j] })
	return partitions
}

// Setup runs once the generation's assignment is known; sarama's protocol is eager, so a
// member gives up everything in Cleanup and gets its whole new share here.
func (m member) Setup(s sarama.ConsumerGroupSession) error {
	emitGroup(groupLine{"type": "assigned", "partitions": m.claimed(s), "t": nowMs()})
	return nil
}

func (m member) Cleanup(s sarama.ConsumerGroupSession) error {
	emitGroup(groupLine{"type": "revoked", "partitions": m.claimed(s), "t": nowMs()})
	return nil
}

// ConsumeClaim marks each record; sarama 1.22 has no synchronous commit, so marked offsets go
// out every CommitInterval and when the session ends (before the member rejoins).
func (m member) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		received := nowMs()
		s.MarkMessage(msg, "")
		emitGroup(groupLine{"type": "record", "partition": msg.Partition, "offset": msg.Offset,
			"value": text(msg.Value), "t": received})
	}
	return nil
}

func runGroupMember(args []string) int {
	fs := flag.NewFlagSet("group-member", flag.ContinueOnError)
	var c common
	c.register(fs)
	topic := fs.String("topic", "", "topic to subscribe to (required)")
	group := fs.String("group", "", "consumer group id (required)")
	strategy := fs.String("strategy", "range", "range or roundrobin")
	sessionMs := fs.Int("session-timeout-ms", 6000, "group session timeout")
	parse(fs, args)
	if *topic == "" || *group == "" {
		fatalUsage("group-member needs -topic and -group")
	}
	watchdog(c.timeout())
	conf, err := c.config()
	if err != nil {
		fatalUsage(err.Error())
	}
	strategies := map[string]sarama.BalanceStrategy{
		"range": sarama.BalanceStrategyRange, "roundrobin": sarama.BalanceStrategyRoundRobin,
	}
	balance, ok := strategies[*strategy]
	if !ok {
		fatalUsage("unknown -strategy " + *strategy)
	}
	session := time.Duration(*sessionMs) * time.Millisecond
	conf.Consumer.Group.Rebalance.Strategy = balance
	conf.Consumer.Group.Session.Timeout = session
	conf.Consumer.Group.Heartbeat.Interval = session / 10
	conf.Consumer.Offsets.Initial = sarama.OffsetOldest
	conf.Consumer.Offsets.CommitInterval = 50 * time.Millisecond
	// Without a retention sarama 1.22 commits with OffsetCommit v1, which Kafka 4 (and Brook)
	// no longer serve; with one it sends v2.
	conf.Consumer.Offsets.Retention = 24 * time.Hour
	conf.Consumer.MaxWaitTime = 200 * time.Millisecond
	consumer, err := sarama.NewConsumerGroup(c.brokerList(), *group, conf)
	if err != nil {
		fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	for ctx.Err() == nil {
		if err := consumer.Consume(ctx, []string{*topic}, member{topic: *topic}); err != nil {
			emitGroup(groupLine{"type": "error", "error": map[string]interface{}{"code": kafkaCode(err),
				"message": err.Error()}, "t": nowMs()})
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := consumer.Close(); err != nil {
		fatal(err)
	}
	emitGroup(groupLine{"type": "closed", "t": nowMs()})
	return 0
}
