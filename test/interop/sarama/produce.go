package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

type produceFlags struct {
	topic      string
	partition  int
	count      int
	key        string
	value      string
	valueBytes int
	headers    string
	codec      string
	acks       string
	idempotent bool
	batchMax   int
	lingerMs   int
}

func (p *produceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.topic, "topic", "", "topic to produce to (required)")
	fs.IntVar(&p.partition, "partition", -1, "partition; -1 lets sarama's hash partitioner choose")
	fs.IntVar(&p.count, "count", 10, "number of records")
	fs.StringVar(&p.key, "key", "key-%d", "key pattern (%d: record index); empty: null key")
	fs.StringVar(&p.value, "value", "value-%d", "value pattern, %d is the record index")
	fs.IntVar(&p.valueBytes, "value-bytes", 0, "when > 0, repeat the value to exactly this size")
	fs.StringVar(&p.headers, "headers", "", "comma-separated k=v headers, %d is the record index")
	fs.StringVar(&p.codec, "codec", "none", "none, gzip, snappy, lz4 or zstd")
	fs.StringVar(&p.acks, "acks", "all", "all (-1), 1 or 0")
	fs.BoolVar(&p.idempotent, "idempotent", false, "idempotent producer (needs -version 0.11+)")
	fs.IntVar(&p.batchMax, "batch-max", 0, "records per produce request before flushing (0: sarama's)")
	fs.IntVar(&p.lingerMs, "linger-ms", 0, "time to gather records into a batch")
}

var codecs = map[string]sarama.CompressionCodec{
	"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP,
	"snappy": sarama.CompressionSnappy, "lz4": sarama.CompressionLZ4,
	"zstd": sarama.CompressionZSTD,
}

var acks = map[string]sarama.RequiredAcks{
	"all": sarama.WaitForAll, "-1": sarama.WaitForAll,
	"1": sarama.WaitForLocal, "0": sarama.NoResponse,
}

func (p *produceFlags) apply(conf *sarama.Config) error {
	codec, ok := codecs[p.codec]
	if !ok {
		return fmt.Errorf("unknown codec %q", p.codec)
	}
	required, ok := acks[p.acks]
	if !ok {
		return fmt.Errorf("unknown acks %q", p.acks)
	}
	conf.Producer.Compression = codec
	conf.Producer.RequiredAcks = required
	conf.Producer.Return.Successes = true
	conf.Producer.Return.Errors = true
	conf.Producer.Retry.Max = 3
	conf.Producer.Retry.Backoff = 100 * time.Millisecond
	conf.Producer.Flush.Messages = p.batchMax
	conf.Producer.Flush.Frequency = time.Duration(p.lingerMs) * time.Millisecond
	if p.partition >= 0 {
		conf.Producer.Partitioner = sarama.NewManualPartitioner
	}
	if p.idempotent {
		conf.Producer.Idempotent = true
		conf.Net.MaxOpenRequests = 1
	}
	return nil
}

func fill(pattern string, index int) string {
	return strings.ReplaceAll(pattern, "%d", fmt.Sprint(index))
}

func (p *produceFlags) message(index int) *sarama.ProducerMessage {
	msg := &sarama.ProducerMessage{Topic: p.topic, Metadata: index}
	if p.partition >= 0 {
		msg.Partition = int32(p.partition)
	}
	if p.key != "" {
		msg.Key = sarama.StringEncoder(fill(p.key, index))
	}
	value := fill(p.value, index)
	if p.valueBytes > 0 && value != "" {
		value = strings.Repeat(value, p.valueBytes/len(value)+1)[:p.valueBytes]
	}
	msg.Value = sarama.StringEncoder(value)
	if p.headers != "" {
		for _, pair := range strings.Split(p.headers, ",") {
			k, v, _ := strings.Cut(pair, "=")
			msg.Headers = append(msg.Headers, sarama.RecordHeader{
				Key: []byte(fill(k, index)), Value: []byte(fill(v, index)),
			})
		}
	}
	return msg
}

type producedLine struct {
	Type      string `json:"type"`
	Index     int    `json:"index"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

type errorLine struct {
	Type    string `json:"type"`
	Index   int    `json:"index"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type produceSummary struct {
	Type     string `json:"type"`
	Produced int    `json:"produced"`
	Failed   int    `json:"failed"`
}

// runProduce sends all records in one SendMessages call so sarama batches them per partition.
// Exit 3 when some records failed; each failure is a JSON line with its Kafka error code.
func runProduce(args []string) int {
	var c common
	var p produceFlags
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	c.register(fs)
	p.register(fs)
	parse(fs, args)
	if p.topic == "" || p.count < 0 {
		fatalUsage("produce needs -topic and a -count >= 0")
	}
	conf, err := c.config()
	if err != nil {
		fatal(err)
	}
	if err := p.apply(conf); err != nil {
		fatalUsage(err.Error())
	}
	watchdog(c.timeout())
	producer, err := sarama.NewSyncProducer(c.brokerList(), conf)
	if err != nil {
		fatal(err)
	}
	messages := make([]*sarama.ProducerMessage, 0, p.count)
	for i := 0; i < p.count; i++ {
		messages = append(messages, p.message(i))
	}
	failedAt := map[int]error{}
	if err := producer.SendMessages(messages); err != nil {
		failures, ok := err.(sarama.ProducerErrors)
		if !ok {
			fatal(err)
		}
		for _, f := range failures {
			failedAt[f.Msg.Metadata.(int)] = f.Err
		}
	}
	for i, msg := range messages {
		if ferr, failed := failedAt[i]; failed {
			emit(errorLine{Type: "error", Index: i, Code: kafkaCode(ferr), Message: ferr.Error()})
			continue
		}
		emit(producedLine{Type: "produced", Index: i, Partition: msg.Partition, Offset: msg.Offset})
	}
	if err := producer.Close(); err != nil {
		fatal(err)
	}
	produced := len(messages) - len(failedAt)
	emit(produceSummary{Type: "summary", Produced: produced, Failed: len(failedAt)})
	if len(failedAt) > 0 {
		return 3
	}
	return 0
}
