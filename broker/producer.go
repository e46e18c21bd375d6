package broker

import (
	"context"
	"fmt"
	"hash"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// closeFlush bounds how long a goka processor's producer waits, when it is
// closed, for records still buffered (the brokers may be gone).
const closeFlush = 10 * time.Second

// gokaProducer is goka's producer on a franz-go client: the emits, table
// writes and dead letters of goka stages. franz-go never fails one record of
// a partition while producing a later one (an idempotent producer that fails
// every record buffered behind a failed one), so each output partition holds
// a gapless prefix of what a callback sequence emitted, even when the
// brokers went away mid-stream. sarama, under goka by default, returns a
// record as failed when it finds no leader and then produces the next one
// once the broker is back: a hole, which the aggregate stage's dedup by
// place (processors/aggregate/seen.go) would take for a replay.
type gokaProducer struct {
	cl *kgo.Client
}

// gokaProducerBuilder makes goka's producers from the connection's client
// options. The hasher goka offers is FNV-1a, which the connection's
// partitioner already uses, so keys land where goka's tables expect them.
func (c *Conn) gokaProducerBuilder() goka.ProducerBuilder {
	return func(_ []string, clientID string, _ func() hash.Hash32) (goka.Producer, error) {
		cl, err := c.Client(kgo.ClientID(clientID), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("goka producer: %w", err)
		}
		return &gokaProducer{cl: cl}, nil
	}
}

func (p *gokaProducer) Emit(topic, key string, value []byte) *goka.Promise {
	return p.EmitWithHeaders(topic, key, value, nil)
}

func (p *gokaProducer) EmitWithHeaders(topic, key string, value []byte, headers goka.Headers) *goka.Promise {
	prom, finish := goka.NewPromiseWithFinisher()
	r := &kgo.Record{Topic: topic, Key: []byte(key), Value: value}
	for k, v := range headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: v})
	}
	p.cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
		// goka records a table's position from the message's offset.
		finish(&sarama.ProducerMessage{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, err)
	})
	return prom
}

// Close waits up to closeFlush for buffered records, then fails the rest
// (in order: no later record of a partition lands after a failed one).
func (p *gokaProducer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeFlush)
	defer cancel()
	err := p.cl.Flush(ctx)
	p.cl.Close()
	if err != nil {
		return fmt.Errorf("goka producer: flush on close: %w", err)
	}
	return nil
}
