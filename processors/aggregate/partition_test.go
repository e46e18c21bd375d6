package aggregate

import (
	"bytes"
	"context"
	"hash/crc32"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/stage/stagetest"
	"github.com/cropstream/cropstream/topology"
)

// A close-window control produced by kcat with librdkafka's default
// partitioner (CRC32) lands on another partition than its block's state:
// it is dead-lettered with the reason, and no 0 kg final appears.
func TestControlOnWrongPartitionDeadLettered(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat is not installed (the CI setup installs it)")
		}
		t.Skip("kcat not installed")
	}
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 2, BlockPartitions: 8, DLQPartitions: 1})
	n := top.Topic(topology.Objects).Partitions
	block := ""
	for _, b := range []string{"B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9"} {
		if int32(crc32.ChecksumIEEE([]byte(b))%uint32(n)) != broker.PartitionOf([]byte(b), n) {
			block = b
			break
		}
	}
	if block == "" {
		t.Fatal("no block whose partitions differ")
	}
	val, err := schema.Encode(&schema.CountedObject{BlockId: block, Control: schema.ControlCloseWindow})
	if err != nil {
		t.Fatal(err)
	}
	// kcat's default partitioner, consistent_random, is CRC32 of the key.
	c := exec.Command(kcat, "-P", "-b", conn.Seeds[0], "-t", string(topology.Objects), "-k", block, "-X", "partitioner=consistent_random")
	c.Stdin = bytes.NewReader(val)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	p, err := New(Config{}, conn)
	if err != nil {
		t.Fatal(err)
	}
	run := stagetest.Start(context.Background(), p)
	stagetest.Until(30*time.Second, func() bool { return p.Stats.DeadLetters.Load() != 0 })
	if err := run.Stop(); err != nil {
		t.Fatal(err)
	}
	dl, err := broker.ReadAll(context.Background(), conn, topology.DLQ, time.Second)
	if err != nil || len(dl) != 1 {
		t.Fatalf("%d dead letters (%v), want 1", len(dl), err)
	}
	d, err := schema.DecodeDeadLetter(dl[0].Value)
	if err != nil || !strings.Contains(d.Reason, "hashes to partition") {
		t.Fatalf("dead letter %+v (%v)", d, err)
	}
	ys, err := broker.ReadAll(context.Background(), conn, topology.Yield, time.Second)
	if err != nil || len(ys) != 0 {
		t.Fatalf("%d yield records (%v), want none", len(ys), err)
	}
	t.Logf("dead letter: %s", d.Reason)
}
