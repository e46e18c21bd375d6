package detect

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/topology"
)

// The live lane (topology.Live, topic frames-live) goes first: its member of
// the group is polled before every backfill poll and between the slices of
// a backfill batch, and it waits for nothing to fill a batch. These lanes
// are the frames' lanes, not Config.Lanes, the inference lanes of a batch.

// pollNow returns what cl has fetched already, up to Lanes x MaxBatch
// records, without waiting.
func (p *Processor) pollNow(cl *kgo.Client) ([]*kgo.Record, error) {
	// A nil context is franz-go's "only what is buffered".
	fs := cl.PollRecords(nil, p.cfg.Lanes*p.cfg.MaxBatch)
	if err := fetchErr(fs); err != nil {
		return nil, err
	}
	return fs.Records(), nil
}

// pollBackfill returns a backfill batch. With none fetched it waits for
// live frames (up to BackfillWait) rather than for backfill, so that a live
// frame reaching an idle stage is not held behind a poll blocked on the
// other lane; it returns nothing when live frames came (and were run).
func (p *Processor) pollBackfill(ctx context.Context, back, live *kgo.Client) ([]*kgo.Record, error) {
	recs, err := p.pollNow(back)
	if err != nil || len(recs) > 0 {
		return p.fill(ctx, back, recs, err)
	}
	wctx, cancel := context.WithTimeout(ctx, p.cfg.BackfillWait)
	fs := live.PollRecords(wctx, p.cfg.Lanes*p.cfg.MaxBatch)
	cancel()
	if err := fetchErr(fs); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	if len(fs.Records()) > 0 {
		return nil, p.batch(ctx, live, topology.Live, fs.Records(), nil)
	}
	// A poll that ran out of time still counts as a poll that blocks
	// rebalances: without this, the group could never rebalance while the
	// stage is idle.
	live.AllowRebalance()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	recs, err = p.pollNow(back)
	return p.fill(ctx, back, recs, err)
}

// fill tops up a backfill batch that has frames but is not full, waiting up
// to MaxWait for more.
func (p *Processor) fill(ctx context.Context, cl *kgo.Client, recs []*kgo.Record, err error) ([]*kgo.Record, error) {
	want := p.cfg.Lanes * p.cfg.MaxBatch
	if err != nil || len(recs) == 0 || len(recs) >= want {
		return recs, err
	}
	wctx, cancel := context.WithTimeout(ctx, p.cfg.MaxWait)
	more := cl.PollRecords(wctx, want-len(recs))
	cancel()
	if err := fetchErr(more); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	return append(recs, more.Records()...), nil
}

// inferSliced is infer in slices of about LiveSlice of the model's time,
// with between run after each slice but the last: a live frame waits for at
// most one slice of a backfill batch, whose outputs are still produced and
// committed as one. The slice follows the model's measured time per frame,
// so it is a few frames on a CPU and tens on a GPU. Without between (a live
// batch), or with LiveSlice negative, the jobs run in one go.
func (p *Processor) inferSliced(s *slot, jobs []*job, between func() error) error {
	if between == nil || p.cfg.LiveSlice < 0 {
		return p.infer(s, jobs)
	}
	for len(jobs) > 0 {
		n := min(len(jobs), s.cost.frames(p.cfg.LiveSlice, len(s.lanes)))
		if err := p.infer(s, jobs[:n]); err != nil {
			return err
		}
		if jobs = jobs[n:]; len(jobs) > 0 {
			if err := between(); err != nil {
				return err
			}
		}
	}
	return nil
}

// liveQuiet is how long after the last live frame backfill batches are still
// sliced. Slicing costs backfill a little (smaller inference batches), so a
// stage that sees no live frame runs whole batches; the first live frame
// after a quiet spell may then wait for one batch, and the frames after it
// for one slice.
const liveQuiet = 10 * time.Second

// whileLive is between while live frames flow, else nil (no slicing).
func (p *Processor) whileLive(between func() error) func() error {
	if time.Since(p.liveAt) > liveQuiet {
		return nil
	}
	return between
}

// frameCost is a model's recent time per frame in one inference lane
// (decode and inference; the lanes run side by side), smoothed over batches.
type frameCost struct{ perLane time.Duration }

// add counts a batch of n frames that took took on up to lanes lanes.
func (c *frameCost) add(took time.Duration, n, lanes int) {
	if n < 1 {
		return
	}
	used := min(n, lanes)
	x := took / time.Duration((n+used-1)/used)
	if c.perLane == 0 {
		c.perLane = x
		return
	}
	c.perLane += (x - c.perLane) / 4
}

// frames is how many frames lanes lanes get through in about budget: at
// least one per lane, since a smaller slice leaves lanes idle.
func (c *frameCost) frames(budget time.Duration, lanes int) int {
	if c.perLane <= 0 {
		return lanes
	}
	return lanes * max(1, int(budget/c.perLane))
}
