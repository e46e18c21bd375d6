// Package fleettest reads back, for tests and benchmarks, what a fleet ingested.
package fleettest

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/ingest/mjpegtest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

// Ingested is what the frames topic holds per camera: the numbers of the
// mjpegtest frames (mjpegtest.FrameNumber) and their capture times, in
// topic order.
type Ingested struct {
	Numbers  []int64
	Captured []time.Time
}

// ReadIngested reads the frames topics of both lanes whole and groups them
// by camera (a camera's stream is on one lane, so each camera's frames stay
// in topic order); it fails on a frame whose key is not its camera or that
// was read twice.
func ReadIngested(ctx context.Context, conn *broker.Conn) (map[string]*Ingested, error) {
	var recs []*kgo.Record
	for _, l := range topology.Lanes {
		rs, err := broker.ReadAll(ctx, conn, topology.FramesOf(l), time.Second)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rs...)
	}
	out := map[string]*Ingested{}
	seen := map[string]map[int64]bool{}
	for _, r := range recs {
		f, err := schema.DecodeFrame(r.Value)
		if err != nil {
			return nil, fmt.Errorf("frame at offset %d: %w", r.Offset, err)
		}
		if f.EndOfStream {
			continue
		}
		if string(r.Key) != f.CameraId {
			return nil, fmt.Errorf("frame of camera %s keyed %q", f.CameraId, r.Key)
		}
		in := out[f.CameraId]
		if in == nil {
			in = &Ingested{}
			out[f.CameraId] = in
			seen[f.CameraId] = map[int64]bool{}
		}
		n := mjpegtest.FrameNumber(f.Image)
		if n >= 0 && seen[f.CameraId][n] {
			return nil, fmt.Errorf("camera %s: frame %d ingested twice", f.CameraId, n)
		}
		seen[f.CameraId][n] = true
		in.Numbers = append(in.Numbers, n)
		in.Captured = append(in.Captured, time.Unix(0, f.CaptureUnixNs))
	}
	return out, nil
}
