package main

import (
	"encoding/base64"
	"flag"
	"time"
	"unicode/utf8"

	"github.com/Shopify/sarama"
)

type recordLine struct {
	Type        string            `json:"type"`
	Partition   int32             `json:"partition"`
	Offset      int64             `json:"offset"`
	TimestampMs int64             `json:"timestampMs"`
	Key         *string           `json:"key"`
	Value       *string           `json:"value"`
	Headers     map[string]string `json:"headers"`
}

type consumeSummary struct {
	Type     string `json:"type"`
	Consumed int    `json:"consumed"`
	Complete bool   `json:"complete"`
}

// text shows bytes as a string, or base64 with a "base64:" prefix when they are not UTF-8, so
// binary payloads survive JSON.
func text(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	if !utf8.Valid(b) {
		s = "base64:" + base64.StdEncoding.EncodeToString(b)
	}
	return &s
}

func describeRecord(m *sarama.ConsumerMessage) recordLine {
	headers := map[string]string{}
	for _, h := range m.Headers {
		headers[*text(h.Key)] = *text(h.Value)
	}
	return recordLine{
		Type: "record", Partition: m.Partition, Offset: m.Offset,
		TimestampMs: m.Timestamp.UnixMilli(), Key: text(m.Key), Value: text(m.Value),
		Headers: headers,
	}
}

func parseOffset(s string) (int64, bool) {
	switch s {
	case "oldest", "beginning":
		return sarama.OffsetOldest, true
	case "newest", "end":
		return sarama.OffsetNewest, true
	}
	var n int64
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int64(ch-'0')
	}
	return n, s != ""
}

// runConsume reads one partition with a PartitionConsumer. Exit 3 when fewer than -count
// records arrived within -timeout-ms; the records that did arrive are still printed.
func runConsume(args []string) int {
	var c common
	fs := flag.NewFlagSet("consume", flag.ContinueOnError)
	c.register(fs)
	topic := fs.String("topic", "", "topic to read (required)")
	partition := fs.Int("partition", 0, "partition to read")
	offsetFlag := fs.String("offset", "oldest", "first offset: a number, oldest or newest")
	count := fs.Int("count", 1, "stop after this many records")
	fetchMaxBytes := fs.Int("fetch-max-bytes", 1<<20, "Consumer.Fetch.Default")
	parse(fs, args)
	offset, ok := parseOffset(*offsetFlag)
	if *topic == "" || *count < 1 || !ok {
		fatalUsage("consume needs -topic, -count >= 1 and -offset N|oldest|newest")
	}
	conf, err := c.config()
	if err != nil {
		fatal(err)
	}
	conf.Consumer.Return.Errors = true
	conf.Consumer.Fetch.Default = int32(*fetchMaxBytes)
	conf.Consumer.MaxWaitTime = 250 * time.Millisecond
	// The wait for records is the time limit; the watchdog only catches a hang past it.
	watchdog(c.timeout() + 5*time.Second)
	deadline := time.After(c.timeout())
	consumer, err := sarama.NewConsumer(c.brokerList(), conf)
	if err != nil {
		fatal(err)
	}
	pc, err := consumer.ConsumePartition(*topic, int32(*partition), offset)
	if err != nil {
		fatal(err)
	}
	consumed := 0
	for consumed < *count {
		select {
		case m := <-pc.Messages():
			emit(describeRecord(m))
			consumed++
		case cerr := <-pc.Errors():
			emit(errorLine{Type: "error", Index: consumed, Code: kafkaCode(cerr.Err),
				Message: cerr.Error()})
		case <-deadline:
			return finishConsume(pc, consumer, consumed, *count)
		}
	}
	return finishConsume(pc, consumer, consumed, *count)
}

func finishConsume(pc sarama.PartitionConsumer, consumer sarama.Consumer, consumed, count int) int {
	pc.AsyncClose()
	if err := consumer.Close(); err != nil {
		fatal(err)
	}
	emit(consumeSummary{Type: "summary", Consumed: consumed, Complete: consumed >= count})
	if consumed < count {
		return 3
	}
	return 0
}
