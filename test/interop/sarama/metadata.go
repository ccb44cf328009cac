package main

import (
	"flag"
	"strings"

	"github.com/Shopify/sarama"
)

type metadataBroker struct {
	ID   int32  `json:"id"`
	Addr string `json:"addr"`
	Rack string `json:"rack,omitempty"`
}

type metadataPartition struct {
	ID       int32   `json:"id"`
	Error    int     `json:"error"`
	Leader   int32   `json:"leader"`
	Replicas []int32 `json:"replicas"`
	Isr      []int32 `json:"isr"`
	Offline  []int32 `json:"offline"`
}

type metadataTopic struct {
	Name       string              `json:"name"`
	Error      int                 `json:"error"`
	Internal   bool                `json:"internal"`
	Partitions []metadataPartition `json:"partitions"`
}

type metadataAnswer struct {
	Type         string           `json:"type"`
	Version      int16            `json:"version"`
	ClusterID    *string          `json:"clusterId"`
	ControllerID int32            `json:"controllerId"`
	Brokers      []metadataBroker `json:"brokers"`
	Topics       []metadataTopic  `json:"topics"`
}

// runMetadata sends one raw Metadata request to the first bootstrap broker, so a test sees
// exactly what the broker answered (sarama's Client would retry and cache instead).
func runMetadata(args []string) int {
	var c common
	fs := flag.NewFlagSet("metadata", flag.ContinueOnError)
	c.register(fs)
	topics := fs.String("topics", "", "comma-separated topics; empty asks for all topics")
	requestVersion := fs.Int("request-version", 1, "Metadata request version (0-5)")
	autoCreate := fs.Bool("auto-create", false, "set AllowAutoTopicCreation (version 4+)")
	parse(fs, args)
	conf, err := c.config()
	if err != nil {
		fatal(err)
	}
	broker := sarama.NewBroker(c.brokerList()[0])
	if err := broker.Open(conf); err != nil {
		fatal(err)
	}
	defer broker.Close()
	request := &sarama.MetadataRequest{
		Version:                int16(*requestVersion),
		AllowAutoTopicCreation: *autoCreate,
	}
	if *topics != "" {
		request.Topics = strings.Split(*topics, ",")
	}
	response, err := broker.GetMetadata(request)
	if err != nil {
		fatal(err)
	}
	emit(describeMetadata(response))
	return 0
}

func describeMetadata(response *sarama.MetadataResponse) metadataAnswer {
	answer := metadataAnswer{
		Type:         "metadata",
		Version:      response.Version,
		ClusterID:    response.ClusterID,
		ControllerID: response.ControllerID,
		Brokers:      []metadataBroker{},
		Topics:       []metadataTopic{},
	}
	for _, b := range response.Brokers {
		broker := metadataBroker{ID: b.ID(), Addr: b.Addr(), Rack: b.Rack()}
		answer.Brokers = append(answer.Brokers, broker)
	}
	for _, t := range response.Topics {
		topic := metadataTopic{
			Name: t.Name, Error: int(t.Err), Internal: t.IsInternal,
			Partitions: []metadataPartition{},
		}
		for _, p := range t.Partitions {
			topic.Partitions = append(topic.Partitions, metadataPartition{
				ID: p.ID, Error: int(p.Err), Leader: p.Leader,
				Replicas: nonNil(p.Replicas), Isr: nonNil(p.Isr), Offline: nonNil(p.OfflineReplicas),
			})
		}
		answer.Topics = append(answer.Topics, topic)
	}
	return answer
}

func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}
