package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Produce writes recs on a client of its own and waits for the broker's
// acknowledgement: for commands that publish a few records and are done.
func Produce(ctx context.Context, conn *Conn, recs ...*kgo.Record) error {
	cl, err := conn.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// Records encodes msgs as records of topic, each keyed by key(msg).
func Records[M schema.Message](topic topology.Topic, msgs []M, key func(M) string) ([]*kgo.Record, error) {
	recs := make([]*kgo.Record, 0, len(msgs))
	for _, m := range msgs {
		val, err := schema.Encode(m)
		if err != nil {
			return nil, err
		}
		recs = append(recs, &kgo.Record{Topic: string(topic), Key: []byte(key(m)), Value: val})
	}
	return recs, nil
}
