package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

// Add publishes c to the registry (normalized and checked), replacing any
// camera of the same id, and waits for the broker's acknowledgement. The
// instance that holds the camera's partition starts its reader.
func Add(ctx context.Context, conn *broker.Conn, c Camera) (Camera, error) {
	c.Normalize(time.Now())
	if err := c.Validate(); err != nil {
		return Camera{}, err
	}
	val, err := EncodeCamera(c)
	if err != nil {
		return Camera{}, err
	}
	if err := broker.Produce(ctx, conn, &kgo.Record{Topic: string(topology.Cameras), Key: []byte(c.ID), Value: val}); err != nil {
		return Camera{}, fmt.Errorf("add camera %s: %w", c.ID, err)
	}
	return c, nil
}

// Remove publishes the camera's tombstone: its reader stops after flushing
// the frames it read.
func Remove(ctx context.Context, conn *broker.Conn, id string) error {
	if err := broker.Produce(ctx, conn, &kgo.Record{Topic: string(topology.Cameras), Key: []byte(id)}); err != nil {
		return fmt.Errorf("remove camera %s: %w", id, err)
	}
	return nil
}

// RemoveRegistered removes the cameras ids, all of which must be
// registered, and returns those removed (all of them unless an error says
// otherwise).
func RemoveRegistered(ctx context.Context, conn *broker.Conn, ids []string) ([]string, error) {
	v, err := Read(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := v.Cameras[id]; !ok {
			return nil, fmt.Errorf("camera %s is not registered", id)
		}
	}
	for i, id := range ids {
		if err := Remove(ctx, conn, id); err != nil {
			return ids[:i], err
		}
	}
	return ids, nil
}

// Read reads the registry and the states whole. Records that do not decode
// are skipped with a warning: the registry accepts hand-written records.
func Read(ctx context.Context, conn *broker.Conn) (*View, error) {
	v := NewView()
	recs, err := broker.ReadAll(ctx, conn, topology.Cameras, time.Second)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if err := v.ApplyCamera(r.Key, r.Value); err != nil {
			slog.Warn("camera registry: record skipped", "key", string(r.Key), "offset", r.Offset, "err", err)
		}
	}
	if recs, err = broker.ReadAll(ctx, conn, topology.CameraState, time.Second); err != nil {
		return nil, err
	}
	for _, r := range recs {
		if err := v.ApplyState(r.Key, r.Value); err != nil {
			slog.Warn("camera state: record skipped", "key", string(r.Key), "offset", r.Offset, "err", err)
		}
	}
	return v, nil
}
