package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// rewind is how many frames per partition before the detect group's
// position the feed starts.
const rewind = 64

// feed reads what the page shows beyond the tables: frames, counted objects
// and yield estimates. It is a direct consumer, not a group: every page of
// every process must see all partitions, and it starts where the pipeline is
// (frames at the detect group's committed offsets, the rest at the end), so
// nothing is committed.
type feed struct {
	conn *broker.Conn
	live *live
	// yields receives each estimate read.
	yields func(*schema.YieldEstimate)
	// budget is how many bytes of frames may wait for their track state
	// before frames are paused (they lead the tracker by the detect stage's
	// backlog).
	budget int64
	// enough, when set, ends the feed once it has caught up and enough
	// returns true.
	enough func() bool
}

// run consumes until ctx ends.
func (f *feed) run(ctx context.Context) error {
	top := f.conn.Topology()
	at := func(t topology.Topic, o kgo.Offset) map[int32]kgo.Offset {
		m := map[int32]kgo.Offset{}
		for p := range top.Topic(t).Partitions {
			m[p] = o
		}
		return m
	}
	parts := map[string]map[int32]kgo.Offset{
		string(topology.Objects): at(topology.Objects, kgo.NewOffset().AtEnd()),
		// The latest estimates of each block are a few records back.
		string(topology.Yield): at(topology.Yield, kgo.NewOffset().AtEnd().Relative(-16)),
	}
	if err := f.frameOffsets(ctx, top, parts); err != nil {
		return err
	}
	cl, err := f.conn.Client(kgo.ConsumePartitions(parts))
	if err != nil {
		return fmt.Errorf("dashboard feed: %w", err)
	}
	defer cl.Close()
	paused := false
	var pausedAt time.Time
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				slog.Warn("dashboard feed: fetch", "topic", t, "partition", p, "err", err)
			}
		})
		fs.EachRecord(f.record)
		// A poll that found nothing means the feed has caught up.
		if f.enough != nil && fs.NumRecords() == 0 && f.enough() {
			return nil
		}
		switch b := f.live.bufferedBytes(); {
		case !paused && b > f.budget:
			cl.PauseFetchTopics(frameTopics...)
			paused, pausedAt = true, time.Now()
		case paused && b < f.budget/2:
			cl.ResumeFetchTopics(frameTopics...)
			paused = false
		case paused && time.Since(pausedAt) > 5*time.Second:
			// The frames in hand are not being paired: no track stage runs
			// for their cameras, or it is stuck. Keep the newest.
			f.live.evict(f.budget / 2)
		}
	}
	return nil
}

func (f *feed) record(r *kgo.Record) {
	switch topology.Topic(r.Topic) {
	case topology.Frames, topology.FramesLive:
		fr, err := schema.DecodeFrame(r.Value)
		if err != nil || fr.EndOfStream || len(fr.Image) == 0 {
			return
		}
		f.live.frame(fr.CameraId, fr.Sequence, int(fr.Width), int(fr.Height), fr.Image)
	case topology.Objects:
		o, err := schema.DecodeCountedObject(r.Value)
		if err != nil || o.Control != "" {
			return
		}
		f.live.object(o.CameraId, o.ObjectId)
	case topology.Yield:
		if y, err := schema.DecodeYieldEstimate(r.Value); err == nil && f.yields != nil {
			f.yields(y)
		}
	}
}

// frameTopics are the frames of both lanes, which the page shows alike.
var frameTopics = topology.Names([]topology.Topic{topology.FramesLive, topology.Frames})

// frameOffsets start each frames topic a little before where the detect
// group is, in parts: the frames the track stage is about to apply, and the
// latest it applied (a page opened on a camera that stopped still shows its
// last frame). Partitions it has not committed start at the beginning (the
// buffer's pause paces them).
func (f *feed) frameOffsets(ctx context.Context, top *topology.Topology, parts map[string]map[int32]kgo.Offset) error {
	adm, cl, err := f.conn.Admin()
	if err != nil {
		return fmt.Errorf("dashboard feed: %w", err)
	}
	defer cl.Close()
	commits, err := adm.FetchOffsets(ctx, string(topology.Detect))
	if errors.Is(err, kerr.GroupIDNotFound) {
		commits, err = kadm.OffsetResponses{}, nil
	}
	if err != nil {
		return fmt.Errorf("dashboard feed: offsets of group %s: %w", topology.Detect, err)
	}
	for _, t := range frameTopics {
		m := map[int32]kgo.Offset{}
		for p := range top.Topic(topology.Topic(t)).Partitions {
			if c, ok := commits.Lookup(t, p); ok && c.Err == nil && c.At >= 0 {
				m[p] = kgo.NewOffset().At(max(c.At-rewind, 0))
			} else {
				m[p] = kgo.NewOffset().AtStart()
			}
		}
		parts[t] = m
	}
	return nil
}
