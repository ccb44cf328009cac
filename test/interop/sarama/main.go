// Command brook-sarama drives the Shopify/sarama Go client against a broker for Brook's interop
// tests. Each subcommand prints JSON lines on stdout; diagnostics go to stderr.
//
// Exit codes: 0 the run completed (per-record errors are reported as JSON lines), 1 a fatal
// error (no connection, timeout before the first answer), 2 a usage error.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

// saramaVersion is set at build time from the Debian package (see build.sh).
var saramaVersion = "unknown"

const usage = `usage: brook-sarama <command> [flags]

commands:
  metadata   send one Metadata request and print the answer
  produce    produce records with a SyncProducer and print each offset
  consume    read one partition from an offset until N records or a timeout
  group-member  a consumer-group member until stdin ends; JSON lines of its assignments
  version    print the Go and sarama versions

Run 'brook-sarama <command> -h' for the flags of a command.
`

type common struct {
	brokers   string
	version   string
	clientID  string
	timeoutMs int
	debug     bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.brokers, "brokers", "127.0.0.1:9092", "bootstrap host:port list, comma-separated")
	fs.StringVar(&c.version, "version", "2.1.0", "Kafka version sarama assumes (sets API versions)")
	fs.StringVar(&c.clientID, "client-id", "brook-sarama", "client id sent in request headers")
	fs.IntVar(&c.timeoutMs, "timeout-ms", 10000, "overall time limit of the command")
	fs.BoolVar(&c.debug, "debug", false, "print sarama's own log on stderr")
}

func (c *common) config() (*sarama.Config, error) {
	if c.debug {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}
	version, err := sarama.ParseKafkaVersion(c.version)
	if err != nil {
		return nil, err
	}
	conf := sarama.NewConfig()
	conf.Version = version
	conf.ClientID = c.clientID
	perCall := c.timeout()
	conf.Net.DialTimeout = perCall
	conf.Net.ReadTimeout = perCall
	conf.Net.WriteTimeout = perCall
	conf.Metadata.Retry.Max = 3
	conf.Metadata.Retry.Backoff = 100 * time.Millisecond
	conf.Metadata.Full = false
	return conf, nil
}

func (c *common) timeout() time.Duration {
	return time.Duration(c.timeoutMs) * time.Millisecond
}

func (c *common) brokerList() []string {
	return strings.Split(c.brokers, ",")
}

var out = json.NewEncoder(os.Stdout)

// emit prints one JSON line; a failure to write stdout is fatal because the test reads it.
func emit(v interface{}) {
	if err := out.Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, "brook-sarama: writing stdout:", err)
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "brook-sarama:", err)
	os.Exit(1)
}

// kafkaCode returns the Kafka error code inside err, or -1 when it is not a broker error.
func kafkaCode(err error) int {
	if kerr, ok := err.(sarama.KError); ok {
		return int(kerr)
	}
	return -1
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	commands := map[string]func([]string) int{
		"metadata":     runMetadata,
		"produce":      runProduce,
		"consume":      runConsume,
		"group-member": runGroupMember,
		"version":      runVersion,
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "-help" || name == "help" {
		fmt.Fprint(os.Stdout, usage)
		return
	}
	run, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "brook-sarama: unknown command %q\n%s", name, usage)
		os.Exit(2)
	}
	os.Exit(run(os.Args[2:]))
}

// parse parses a subcommand's flags; -h prints them and exits 0, a bad flag exits 2.
func parse(fs *flag.FlagSet, args []string) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if err == flag.ErrHelp {
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "brook-sarama:", err)
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "brook-sarama: unexpected arguments %v\n", fs.Args())
		os.Exit(2)
	}
}

func runVersion(args []string) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	parse(fs, args)
	emit(map[string]string{"type": "version", "go": runtime.Version(), "sarama": saramaVersion})
	return 0
}

func fatalUsage(message string) {
	fmt.Fprintln(os.Stderr, "brook-sarama:", message)
	os.Exit(2)
}

// watchdog ends the process when a command outlives its time limit, so a hung connection
// cannot hold a test until vitest's own timeout.
func watchdog(limit time.Duration) {
	go func() {
		time.Sleep(limit)
		fmt.Fprintf(os.Stderr, "brook-sarama: timed out after %v\n", limit)
		os.Exit(1)
	}()
}
