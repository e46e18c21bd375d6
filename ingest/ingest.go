package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/segmentio/ksuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Stage is the name dead letters from ingest carry.
const Stage = "ingest"

// ErrFrameTooLarge is returned when an encoded frame exceeds MaxFrameBytes.
// Ingest stops: a camera whose frames do not fit needs a lower JPEG quality,
// a smaller resolution or a larger limit, not silently missing frames.
var ErrFrameTooLarge = errors.New("frame too large")

// Config configures an Ingester.
type Config struct {
	// CameraID keys every frame; required.
	CameraID string
	// FieldID, BlockID, RowID locate the camera on the farm.
	FieldID, BlockID, RowID string
	// SampleFPS keeps at most this many frames per second of source time;
	// 0 (default) keeps every frame.
	SampleFPS float64
	// JPEGQuality (1..100, default 90) for frames the ingester encodes.
	// JPEGs from folders pass through unchanged.
	JPEGQuality int
	// MaxFrameBytes refuses larger JPEGs; default and upper bound is the
	// topology's MaxFrameBytes, which sizes the topic and the clients.
	MaxFrameBytes int
	// CaptureStart is the capture time of a file's first frame; default the
	// time ingest starts. Set it to re-ingest a file with the same frame ids.
	CaptureStart time.Time
	// Progress, when set, shows a progress bar there for finite sources.
	Progress io.Writer
	// StreamID names the stream every frame of a Run belongs to; default
	// StreamID(camera, source, capture time of the first frame), so each
	// Run (a file, a folder, one connection to a live camera) is a stream
	// of its own and re-ingesting a file with the same CaptureStart is the
	// same stream.
	StreamID string
	// Lane is the lane the frames travel in: topology.Live (frames-live,
	// detected before any backfill) or topology.Backfill (frames). Default:
	// live for a live source (a camera filming now, SourceInfo.Live),
	// backfill for recorded video, folders and scenarios. A camera's stream
	// stays on one lane, so its frames stay in order.
	Lane topology.Lane
}

// Stats counts what a Run did; records count once the broker acknowledged
// them.
type Stats struct {
	Frames      int           // produced to frames
	Bytes       int64         // JPEG bytes produced
	Sampled     int           // source frames skipped by sampling
	DeadLetters int           // bad frames sent to the dead-letter topic
	Elapsed     time.Duration // wall time of Run
}

// MBps is the rate of JPEG bytes produced, in MB/s of wall time.
func (s Stats) MBps() float64 { return float64(s.Bytes) / 1e6 / max(s.Elapsed.Seconds(), 1e-9) }

// Ingester produces a source's frames to the frames topic.
type Ingester struct {
	cfg    Config
	client *kgo.Client
	top    *topology.Topology
}

// New checks cfg against the topology. The client must use the goka
// compatible partitioner (broker.Conn.Client does).
func New(cfg Config, client *kgo.Client, top *topology.Topology) (*Ingester, error) {
	if cfg.CameraID == "" {
		return nil, errors.New("ingest: camera id is required")
	}
	if cfg.JPEGQuality == 0 {
		cfg.JPEGQuality = 90
	}
	if cfg.JPEGQuality < 1 || cfg.JPEGQuality > 100 {
		return nil, fmt.Errorf("ingest: jpeg quality %d, want 1..100", cfg.JPEGQuality)
	}
	if cfg.SampleFPS < 0 {
		return nil, fmt.Errorf("ingest: sample fps %g, want >= 0", cfg.SampleFPS)
	}
	limit := top.Config.MaxFrameBytes
	if cfg.MaxFrameBytes == 0 {
		cfg.MaxFrameBytes = limit
	}
	if cfg.MaxFrameBytes < 0 || cfg.MaxFrameBytes > limit {
		return nil, fmt.Errorf("ingest: max frame bytes %d, want 1..%d (the topology's limit; raise --max-frame-bytes for the whole topology)", cfg.MaxFrameBytes, limit)
	}
	if cfg.CaptureStart.IsZero() {
		cfg.CaptureStart = time.Now()
	}
	if cfg.Lane != "" {
		if _, err := topology.ParseLane(string(cfg.Lane)); err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
	}
	return &Ingester{cfg: cfg, client: client, top: top}, nil
}

// Run produces every frame of src, waits until the broker has acknowledged
// them all, and returns. It stops at the source's end, at ctx's cancellation
// (returning ctx.Err() after flushing) or at the first produce error.
func (in *Ingester) Run(ctx context.Context, src Source) (Stats, error) {
	start := time.Now()
	var st Stats
	info := src.Info()
	topic := topology.FramesOf(LaneOf(in.cfg.Lane, info))
	rate := in.cfg.SampleFPS
	if rate == 0 {
		rate = info.FPS
	}
	var bar *progressbar.ProgressBar
	if in.cfg.Progress != nil && info.Frames > 0 {
		bar = progressbar.NewOptions(info.Frames, progressbar.OptionSetWriter(in.cfg.Progress),
			progressbar.OptionSetDescription("ingest "+in.cfg.CameraID), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}

	// Produce asynchronously; the first failure stops the loop.
	var (
		mu       sync.Mutex
		firstErr error
	)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			fail(fmt.Errorf("produce frame to %s: %w", r.Topic, explainProduce(err)))
		}
	}
	// Stats count what the broker acknowledged, not what was handed to the
	// client: a broker that refuses records (a full disk) must not make
	// ingest report frames that were never stored.
	acked := func(count func(*Stats)) func(*kgo.Record, error) {
		return func(r *kgo.Record, err error) {
			if err == nil {
				mu.Lock()
				count(&st)
				mu.Unlock()
			}
			promise(r, err)
		}
	}

	var (
		lastIdx int64  = -1 // last sampled index on the source timeline
		counted uint64      // frames numbered by count when the rate is unknown
		loopErr error
		last    *schema.Frame // the last frame produced, for the end of stream
		ended   bool
		stream  = in.cfg.StreamID
	)
	for {
		c, err := src.Next(pctx)
		if errors.Is(err, io.EOF) {
			ended = true
			break
		}
		var bad *BadFrameError
		if errors.As(err, &bad) {
			in.deadLetter(pctx, bad.Error(), bad.Raw, acked(func(st *Stats) { st.DeadLetters++ }))
			continue
		}
		if err != nil {
			loopErr = err
			break
		}
		if bar != nil {
			bar.Add(1)
		}
		var seq uint64
		if c.Sequence != nil {
			seq = *c.Sequence
		} else if rate > 0 {
			idx := int64(math.Floor(c.Offset.Seconds()*rate + 1e-6))
			if idx <= lastIdx {
				mu.Lock()
				st.Sampled++
				mu.Unlock()
				continue
			}
			lastIdx, seq = idx, uint64(idx)
		} else {
			seq = counted
			counted++
		}
		rec, f, err := in.record(topic, c, seq, info.Name, &stream)
		if err != nil {
			if errors.Is(err, ErrFrameTooLarge) {
				in.deadLetter(pctx, err.Error(), nil, promise)
			}
			loopErr = err
			break
		}
		size := int64(len(f.Image))
		in.client.Produce(pctx, rec, acked(func(st *Stats) { st.Frames++; st.Bytes += size }))
		last = f
	}
	if ended && last != nil {
		// The stream is whole: say so, so the tracker decides on the objects
		// still in view instead of waiting for frames that will not come.
		rec, err := endOfStream(topic, last)
		if err != nil {
			loopErr = err
		} else {
			in.client.Produce(pctx, rec, promise)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	// Wait for every acknowledgement, even after cancellation, so nothing
	// produced is left in doubt when Run returns.
	flushErr := in.client.Flush(context.WithoutCancel(ctx))
	mu.Lock()
	defer mu.Unlock()
	st.Elapsed = time.Since(start)
	switch {
	case loopErr != nil && !errors.Is(loopErr, context.Canceled):
		return st, loopErr
	case firstErr != nil:
		return st, firstErr
	case flushErr != nil:
		return st, fmt.Errorf("flush frames: %w", flushErr)
	}
	return st, ctx.Err()
}

// LaneOf is the lane of a source's frames: lane when set, else live for a
// live source and backfill for any other.
func LaneOf(lane topology.Lane, info SourceInfo) topology.Lane {
	switch {
	case lane != "":
		return lane
	case info.Live:
		return topology.Live
	}
	return topology.Backfill
}

// explainProduce adds what an operator should look at to the broker errors
// that say nothing by themselves.
func explainProduce(err error) error {
	if errors.Is(err, kerr.UnknownServerError) || errors.Is(err, kerr.KafkaStorageError) {
		return fmt.Errorf("%w (the broker could not store the record; a full disk under its log is the usual cause: check the broker's disk and log)", err)
	}
	return err
}

// endOfStream is the record after last: same camera and place, the next
// sequence number, no image.
func endOfStream(topic topology.Topic, last *schema.Frame) (*kgo.Record, error) {
	seq := last.Sequence + 1
	at := time.Unix(0, last.CaptureUnixNs)
	f := &schema.Frame{
		FrameId: FrameID(last.CameraId, seq, at), CameraId: last.CameraId, StreamId: last.StreamId, FieldId: last.FieldId, BlockId: last.BlockId,
		RowId: last.RowId, CaptureUnixNs: last.CaptureUnixNs, Sequence: seq, PositionM: last.PositionM,
		Width: last.Width, Height: last.Height, Source: last.Source, EndOfStream: true,
	}
	val, err := schema.Encode(f)
	if err != nil {
		return nil, fmt.Errorf("end of stream of camera %s: %w", last.CameraId, err)
	}
	return &kgo.Record{Topic: string(topic), Key: []byte(last.CameraId), Value: val, Timestamp: at}, nil
}

// record builds the Kafka record of one frame, encoding it to JPEG if needed,
// and returns it with the frame it holds. An empty *stream is set from the
// first frame.
func (in *Ingester) record(topic topology.Topic, c Captured, seq uint64, source string, stream *string) (*kgo.Record, *schema.Frame, error) {
	img := c.JPEG
	if img == nil {
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, *c.Image, []int{gocv.IMWriteJpegQuality, in.cfg.JPEGQuality})
		if err != nil {
			return nil, nil, fmt.Errorf("encode frame %d of %s: %w", seq, source, err)
		}
		img = append([]byte(nil), buf.GetBytes()...)
		buf.Close()
	}
	if len(img) > in.cfg.MaxFrameBytes {
		return nil, nil, fmt.Errorf("%w: frame %d of camera %s is %d bytes, over the %d-byte limit (lower --jpeg-quality or raise --max-frame-bytes)",
			ErrFrameTooLarge, seq, in.cfg.CameraID, len(img), in.cfg.MaxFrameBytes)
	}
	row := in.cfg.RowID
	if c.RowID != "" {
		row = c.RowID
	}
	at := c.CaptureTime
	if at.IsZero() {
		at = in.cfg.CaptureStart.Add(c.Offset)
	}
	if *stream == "" {
		*stream = StreamID(in.cfg.CameraID, source, at)
	}
	f := &schema.Frame{
		FrameId:       FrameID(in.cfg.CameraID, seq, at),
		CameraId:      in.cfg.CameraID,
		StreamId:      *stream,
		FieldId:       in.cfg.FieldID,
		BlockId:       in.cfg.BlockID,
		RowId:         row,
		CaptureUnixNs: at.UnixNano(),
		Sequence:      seq,
		PositionM:     c.PositionM,
		Width:         uint32(c.Width),
		Height:        uint32(c.Height),
		Encoding:      schema.Encoding_ENCODING_JPEG,
		Source:        source,
		Image:         img,
	}
	val, err := schema.Encode(f)
	if err != nil {
		return nil, nil, err
	}
	return &kgo.Record{Topic: string(topic), Key: []byte(in.cfg.CameraID), Value: val, Timestamp: at}, f, nil
}

// deadLetter records a frame ingest could not use.
func (in *Ingester) deadLetter(ctx context.Context, reason string, raw []byte, promise func(*kgo.Record, error)) {
	src := &kgo.Record{Partition: -1, Offset: -1, Key: []byte(in.cfg.CameraID), Value: raw}
	in.client.Produce(ctx, broker.DeadLetter(in.top, Stage, reason, src), promise)
}

// StreamID names a stream: a hash of the camera, the source and the capture
// time of the stream's first frame (16 hex digits). The same file ingested
// again with the same capture start is the same stream (the tracker sees a
// replay); another file, another start or a reconnected live camera is a
// new one.
func StreamID(camera, source string, first time.Time) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", camera, source, first.UnixNano()))
	return hex.EncodeToString(h[:8])
}

// FrameID is a ksuid whose time is the capture time and whose payload is
// derived from camera and sequence, so the same frame always gets the same id
// and ids sort by capture time.
func FrameID(camera string, seq uint64, at time.Time) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s/%d", camera, seq))
	id, err := ksuid.FromParts(at, h[:16])
	if err != nil {
		// Only times before 2014 (ksuid's epoch) fail; clamp to the epoch.
		id, _ = ksuid.FromParts(time.Unix(1400000000, 0), h[:16])
	}
	return id.String()
}

// CheckJPEGQuality refuses a quality outside 1..100 as a flag value: the
// encoder reads 0 as "the default", but a user who types 0 asked for
// something else and must not silently get 90.
func CheckJPEGQuality(q int) error {
	if q < 1 || q > 100 {
		return fmt.Errorf("--jpeg-quality %d: want 1..100 (default 90)", q)
	}
	return nil
}
