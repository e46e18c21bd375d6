package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/latency"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Stage is the name dead letters from this stage carry.
const Stage = "detect"

// Stats are the stage's running counters.
type Stats struct {
	Frames      atomic.Int64 // frames detected and emitted
	DeadLetters atomic.Int64
	Batches     atomic.Int64
	Boxes       atomic.Int64
	DecodeNanos atomic.Int64 // summed over frames
	InferNanos  atomic.Int64 // summed over batches
	// ModelSwitches counts models put in service (or canaries ended)
	// between batches; ModelRefusals deployments refused.
	ModelSwitches atomic.Int64
	ModelRefusals atomic.Int64
	// Reports counts model-quality records emitted.
	Reports atomic.Int64
	// LiveFrames are the frames of Frames that came by the live lane.
	LiveFrames atomic.Int64
	// Latency per frame from capture to its detections, by lane; per batch
	// of inference; per frame of decode: what p95/p99 alerts need.
	CaptureToDetected LaneHistograms
	Inference, Decode latency.Histogram
	// CPUDecoded and GPUDecoded count the frames each decoder decoded
	// (Config.Decode): which one serves, and how many frames the GPU
	// decoder left to the CPU.
	CPUDecoded, GPUDecoded atomic.Int64
}

// LaneHistograms is a latency histogram per lane.
type LaneHistograms struct{ Live, Backfill latency.Histogram }

// Of is lane's histogram.
func (h *LaneHistograms) Of(l topology.Lane) *latency.Histogram {
	if l == topology.Live {
		return &h.Live
	}
	return &h.Backfill
}

// Processor is the detect stage. It is a plain consumer group rather than a
// goka processor: the stage keeps no state, and batching across partitions
// needs records from many partitions at once, which goka hands out one
// callback per partition at a time.
type Processor struct {
	cfg   Config
	conn  *broker.Conn
	top   *topology.Topology
	Stats Stats

	// serving, canary and shadow are the models in service; only the Run loop
	// touches them, between batches.
	serving, canary, shadow *slot
	changes                 chan change
	status                  atomic.Pointer[ModelStatus]
	// liveAt is when the last live batch was committed (run loop only).
	liveAt time.Time
}

// New checks the config.
func New(cfg Config, conn *broker.Conn, top *topology.Topology) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Decode.Mode == inference.DecodeGPU {
		// Refused at start, not left to the first batch's lanes.
		d, err := inference.NewDecoder(cfg.Decode, cfg.Detector.Info(), 1)
		if err != nil {
			return nil, fmt.Errorf("detect: GPU decoding: %w", err)
		}
		d.Close()
	}
	return &Processor{cfg: cfg.withDefaults(), conn: conn, top: top, changes: make(chan change, 4)}, nil
}

// Run consumes until ctx is cancelled. Each batch's detections and dead
// letters are produced and acknowledged before its offsets are committed, and
// rebalances wait for the batch in hand, so a crash at any point re-runs at
// most the uncommitted batch (at-least-once; the tracker skips frames it has
// already applied). A client that lost the brokers or its group (a broker
// restart) is closed and the stage rejoins with a new one (broker.Supervise),
// from the committed offsets.
func (p *Processor) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	ready := make(chan struct{})
	g.Go(func() error { return p.watchModels(gctx, ready) })
	g.Go(func() error {
		select {
		case <-ready:
		case <-gctx.Done():
			return nil
		}
		return broker.Supervise(gctx, Stage, broker.Backoff{}, p.run)
	})
	return g.Wait()
}

func (p *Processor) run(ctx context.Context) error {
	// Two members of the group, one per lane, so that each polls and commits
	// its own topic: the live one is polled before every backfill poll and
	// between the slices of a backfill batch.
	ls := map[topology.Lane]*kgo.Client{}
	for _, l := range topology.Lanes {
		cl, err := p.conn.Client(p.clientOpts(topology.FramesOf(l))...)
		if err != nil {
			return err
		}
		defer cl.Close()
		// Leaving the group waits for rebalances, which a poll blocks until
		// AllowRebalance: allow it on every way out, before Close.
		defer cl.AllowRebalance()
		ls[l] = cl
	}
	live, back := ls[topology.Live], ls[topology.Backfill]
	inference.TuneMalloc()
	p.serving = p.newSlot(p.cfg.Detector, nil, nil)
	defer func() {
		p.serving.close()
		for _, s := range []*slot{p.canary, p.shadow} {
			if s != nil {
				s.close()
			}
		}
	}()
	p.applyChanges()
	p.setStatus()

	// between runs the live lane's waiting frames in the middle of a
	// backfill batch, while live frames flow.
	between := func() error {
		recs, err := p.pollNow(live)
		if err != nil || len(recs) == 0 {
			return err
		}
		return p.batch(ctx, live, topology.Live, recs, nil)
	}
	for ctx.Err() == nil {
		p.applyChanges()
		recs, err := p.pollNow(live)
		if err == nil && len(recs) > 0 {
			err = p.batch(ctx, live, topology.Live, recs, nil)
		} else if err == nil {
			recs, err = p.pollBackfill(ctx, back, live)
			if err == nil && len(recs) > 0 {
				p.applyChanges() // a deployment loaded while the poll waited
				err = p.batch(ctx, back, topology.Backfill, recs, p.whileLive(between))
			}
		}
		if err != nil {
			if errors.Is(err, context.Canceled) || ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// batch detects recs of one lane, produces the outputs and, once they are
// acknowledged, commits recs on cl, the lane's client.
func (p *Processor) batch(ctx context.Context, cl *kgo.Client, l topology.Lane, recs []*kgo.Record, between func() error) error {
	outs, err := p.process(recs, l, between)
	if err != nil {
		return err
	}
	if err := produceAll(ctx, cl, outs); err != nil {
		return err
	}
	if err := cl.CommitRecords(context.WithoutCancel(ctx), recs...); err != nil {
		return fmt.Errorf("detect: commit %s: %w", l, err)
	}
	cl.AllowRebalance()
	if l == topology.Live {
		p.liveAt = time.Now()
	}
	return nil
}

// clientOpts are the options of the group member consuming topic.
func (p *Processor) clientOpts(topic topology.Topic) []kgo.Opt {
	return []kgo.Opt{
		kgo.ConsumerGroup(string(topology.Detect)),
		kgo.ConsumeTopics(string(topic)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(p.cfg.SessionTimeout),
		kgo.HeartbeatInterval(p.cfg.heartbeat()),
		kgo.ProducerLinger(2 * time.Millisecond),
	}
}

func fetchErr(fs kgo.Fetches) error {
	var err error
	fs.EachError(func(t string, part int32, e error) {
		if errors.Is(e, context.Canceled) || errors.Is(e, context.DeadlineExceeded) {
			if err == nil {
				err = e
			}
			return
		}
		err = fmt.Errorf("detect: fetch %s/%d: %w", t, part, e)
	})
	return err
}

// lane decodes and infers one share of a poll, with buffers of its own.
type lane struct {
	dec   *decoder
	input *inference.Batch
	jobs  []*job
	boxes [][]inference.Detection
	err   error
}

// run decodes the lane's jobs, packs those that decoded into consecutive
// slots and infers them; job i's boxes are boxes[jobs[i].slot].
func (l *lane) run(p *Processor, det Detector) {
	l.boxes, l.err = nil, nil
	l.dec.run(l.jobs, l.input)
	n := 0
	for _, j := range l.jobs {
		p.Stats.DecodeNanos.Add(int64(j.took))
		p.Stats.Decode.Observe(j.took)
		if j.err == nil {
			if j.slot != n {
				l.input.Move(j.slot, n)
				j.slot = n
			}
			n++
		}
	}
	if n == 0 {
		return
	}
	start := time.Now()
	boxes, err := l.input.Run(det, n)
	if err != nil {
		l.err = fmt.Errorf("detect: %w", err)
		return
	}
	l.boxes = boxes
	took := time.Since(start)
	p.Stats.InferNanos.Add(int64(took))
	p.Stats.Inference.Observe(took)
	p.Stats.Batches.Add(1)
}

// process turns a poll of frame records of lane l into output records, one
// per input record and in the same order: Detections, or a dead letter.
// between, when set, runs between the slices of the batch's inference
// (inferSliced).
func (p *Processor) process(recs []*kgo.Record, l topology.Lane, between func() error) ([]*kgo.Record, error) {
	outs := make([]*kgo.Record, len(recs))
	jobs := make([]*job, 0, len(recs))
	byRec := make([]*job, len(recs))
	for i, r := range recs {
		f, err := schema.DecodeFrame(r.Value)
		if err == nil && string(r.Key) != f.CameraId {
			// Stages after this one keep state by the key: a record keyed
			// by another camera, or by none, would be tracked there.
			err = fmt.Errorf("%w: frame %s of camera %q keyed %q: the key must be the camera id", ErrBadFrame, f.FrameId, f.CameraId, r.Key)
		}
		if err == nil && f.EndOfStream {
			outs[i], err = p.endOfStream(r, f)
			if err != nil {
				outs[i] = p.deadLetter(r, err)
			}
			continue
		}
		var w, h int
		if err == nil {
			w, h, err = checkHeader(f, p.cfg.MaxPixels)
		}
		if err != nil {
			outs[i] = p.deadLetter(r, err)
			continue
		}
		j := &job{frame: f, w: w, h: h, model: p.route(f)}
		jobs = append(jobs, j)
		byRec[i] = j
	}
	for _, s := range []*slot{p.serving, p.canary} {
		if s == nil {
			continue
		}
		var mine []*job
		for _, j := range jobs {
			if j.model == s {
				mine = append(mine, j)
			}
		}
		if err := p.inferSliced(s, mine, between); err != nil {
			return nil, err
		}
	}
	shadowed, err := p.runShadow(jobs)
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixNano()
	for i, r := range recs {
		j := byRec[i]
		if j == nil {
			continue
		}
		if j.err != nil {
			outs[i] = p.deadLetter(r, j.err)
			continue
		}
		d := detections(j, j.boxes, j.model.det.Name(), j.model.det.Info(), now)
		d.ModelId = j.model.id
		d.Brightness, d.Contrast, d.InferNs = j.bright, j.contrast, j.inferNs
		val, err := schema.Encode(d)
		if err != nil {
			outs[i] = p.deadLetter(r, err)
			continue
		}
		outs[i] = &kgo.Record{Topic: string(topology.Detections), Key: r.Key, Value: val, Timestamp: r.Timestamp}
		p.Stats.Frames.Add(1)
		p.Stats.Boxes.Add(int64(len(d.Detections)))
		p.Stats.CaptureToDetected.Of(l).Observe(time.Duration(now - d.CaptureUnixNs))
		if l == topology.Live {
			p.Stats.LiveFrames.Add(1)
		}
		if q := p.observe(d, j.model); q != nil {
			outs = append(outs, q)
		}
	}
	return append(outs, p.shadowRecords(shadowed, now)...), nil
}

// infer decodes and infers the jobs of one model, split evenly over as many
// of its lanes as have work; each lane numbers its own slots from 0, and
// each job keeps its boxes, so the lanes can be used again at once.
func (p *Processor) infer(s *slot, jobs []*job) error {
	start := time.Now()
	defer func() {
		// Each frame's share of the time its model took for the lot, so a
		// shadow's latency compares with the serving model's frame by frame.
		if len(jobs) > 0 {
			took := time.Since(start)
			s.cost.add(took, len(jobs), len(s.lanes))
			per := int64(took) / int64(len(jobs))
			for _, j := range jobs {
				j.inferNs = per
			}
		}
	}()
	used := s.lanes[:min(len(s.lanes), len(jobs))]
	var wg sync.WaitGroup
	for k, l := range used {
		l.jobs = jobs[k*len(jobs)/len(used) : (k+1)*len(jobs)/len(used)]
		for i, j := range l.jobs {
			j.slot = i
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run(p, s.det)
		}()
	}
	wg.Wait()
	for _, l := range used {
		if l.err != nil {
			return l.err
		}
		for _, j := range l.jobs {
			if j.err == nil {
				j.boxes = l.boxes[j.slot]
			}
		}
	}
	return nil
}

// endOfStream passes a stream's end on, in its place in the camera's order.
func (p *Processor) endOfStream(r *kgo.Record, f *schema.Frame) (*kgo.Record, error) {
	d := schema.DetectionsOf(f)
	info := p.serving.det.Info()
	d.Model, d.ModelId, d.ClassNames, d.CountScores = p.serving.det.Name(), p.serving.id, info.Names, info.CountScores
	val, err := schema.Encode(d)
	if err != nil {
		return nil, fmt.Errorf("end of stream of camera %s: %w", f.CameraId, err)
	}
	return &kgo.Record{Topic: string(topology.Detections), Key: r.Key, Value: val, Timestamp: r.Timestamp}, nil
}

// detections builds the output record of one frame, boxes in frame pixels.
func detections(j *job, boxes []inference.Detection, model string, info inference.ModelInfo, now int64) *schema.Detections {
	d := schema.DetectionsOf(j.frame)
	d.Width, d.Height = uint32(j.w), uint32(j.h)
	d.Model, d.ClassNames, d.DetectedUnixNs, d.CountScores = model, info.Names, now, info.CountScores
	for _, b := range boxes {
		b = j.lb.ToFrame(b)
		if b.X2-b.X1 < 1 || b.Y2-b.Y1 < 1 {
			continue // wholly in the padding
		}
		d.Detections = append(d.Detections, &schema.Detection{
			Box: &schema.Box{X1: b.X1, Y1: b.Y1, X2: b.X2, Y2: b.Y2}, ClassId: uint32(b.Class), Score: b.Score})
	}
	return d
}

func (p *Processor) deadLetter(r *kgo.Record, reason error) *kgo.Record {
	p.Stats.DeadLetters.Add(1)
	slog.Warn("frame dead-lettered", "stage", Stage, "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "camera", string(r.Key), "reason", reason)
	return broker.DeadLetter(p.top, Stage, reason.Error(), r)
}

// produceAll produces outs in order and waits until all are acknowledged.
func produceAll(ctx context.Context, cl *kgo.Client, outs []*kgo.Record) error {
	var first atomic.Pointer[error]
	for _, r := range outs {
		cl.Produce(context.WithoutCancel(ctx), r, func(r *kgo.Record, err error) {
			if err != nil {
				e := fmt.Errorf("detect: produce to %s: %w", r.Topic, err)
				first.CompareAndSwap(nil, &e)
			}
		})
	}
	if err := cl.Flush(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("detect: flush: %w", err)
	}
	if e := first.Load(); e != nil {
		return *e
	}
	return nil
}

// ModelID is the id of det's model: from its ID method (an inference
// Engine's), else its name alone, for detectors that cannot say more.
func ModelID(det Detector) string {
	if d, ok := det.(interface{ ID() inference.ModelID }); ok {
		return d.ID().String()
	}
	return inference.ModelID{Name: det.Name(), Version: inference.UnversionedModel}.String()
}

// Latencies are the stage's latency histograms, by what they time and, for
// capture to detections, by lane.
func (p *Processor) Latencies() map[latency.Key]*latency.Histogram {
	m := map[latency.Key]*latency.Histogram{{What: "inference_batch"}: &p.Stats.Inference, {What: "decode_frame"}: &p.Stats.Decode}
	for _, l := range topology.Lanes {
		m[latency.Key{What: "capture_to_detected", Lane: string(l)}] = p.Stats.CaptureToDetected.Of(l)
	}
	return m
}
