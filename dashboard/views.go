package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"
	"golang.org/x/sync/errgroup"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/topology"
)

// ErrNotReady is returned by the views' lookups while they are still reading
// their tables, or after they stopped.
var ErrNotReady = errors.New("tables not ready")

// views are goka views of the tables the page and the API answer from. They
// keep the raw values; decoding is left to the lookup, so one bad record
// fails one query, not the view.
type views struct {
	track, aggregate, fields *goka.View
}

// newViews makes the views; onTrack and onAggregate, when set, see every
// table update (they run on goka's partition goroutines: keep them short).
func newViews(conn *broker.Conn, onTrack, onAggregate func(key string, value []byte)) (*views, error) {
	sc, err := conn.SaramaConfig()
	if err != nil {
		return nil, err
	}
	tmc := goka.NewTopicManagerConfig()
	tmc.Table.Replication, tmc.Stream.Replication = 1, 1
	base := []goka.ViewOption{
		goka.WithViewTopicManagerBuilder(goka.TopicManagerBuilderWithConfig(sc, tmc)),
		goka.WithViewConsumerSaramaBuilder(goka.SaramaConsumerBuilderWithConfig(sc)),
		goka.WithViewStorageBuilder(storage.MemoryBuilder()),
		goka.WithViewClientID(conn.Config().ClientID + "-dashboard"),
		goka.WithViewLogger(quietLogger{}),
	}
	mk := func(t topology.Topic, on func(string, []byte)) (*goka.View, error) {
		opts := base
		if on != nil {
			opts = append(append([]goka.ViewOption(nil), base...), goka.WithViewCallback(func(ctx goka.UpdateContext, s storage.Storage, key string, value []byte) error {
				if err := goka.DefaultUpdate(ctx, s, key, value); err != nil {
					return err
				}
				if value != nil {
					on(key, value)
				}
				return nil
			}))
		}
		v, err := goka.NewView(conn.Seeds, goka.Table(t), new(codec.Bytes), opts...)
		if err != nil {
			return nil, fmt.Errorf("dashboard: view of %s: %w", t, err)
		}
		return v, nil
	}
	var vs views
	if vs.track, err = mk(topology.Table(topology.Track), onTrack); err != nil {
		return nil, err
	}
	if vs.aggregate, err = mk(topology.Table(topology.Aggregate), onAggregate); err != nil {
		return nil, err
	}
	if vs.fields, err = mk(topology.Fields, nil); err != nil {
		return nil, err
	}
	return &vs, nil
}

// run keeps the views up to date until ctx ends.
func (vs *views) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, v := range []*goka.View{vs.track, vs.aggregate, vs.fields} {
		g.Go(func() error {
			if err := v.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("dashboard: view of %s: %w", v.Topic(), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// get is a table's raw value of key; nil when absent.
func get(v *goka.View, key string) ([]byte, error) {
	if v == nil || !v.Recovered() || v.CurrentState() != goka.ViewStateRunning {
		return nil, ErrNotReady
	}
	val, err := v.Get(key)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", v.Topic(), key, err)
	}
	b, _ := val.([]byte)
	return b, nil
}

// each calls f with every key and raw value of a table.
func each(v *goka.View, f func(key string, value []byte)) error {
	if v == nil || !v.Recovered() || v.CurrentState() != goka.ViewStateRunning {
		return ErrNotReady
	}
	it, err := v.Iterator()
	if err != nil {
		return fmt.Errorf("%s: %w", v.Topic(), err)
	}
	defer it.Release()
	for it.Next() {
		val, err := it.Value()
		if err != nil {
			return fmt.Errorf("%s %q: %w", v.Topic(), it.Key(), err)
		}
		if b, _ := val.([]byte); b != nil {
			f(it.Key(), b)
		}
	}
	return it.Err()
}

// quietLogger sends goka's view chatter to slog at debug level.
type quietLogger struct{}

func (quietLogger) Print(v ...any)   { slog.Debug(fmt.Sprint(v...), "lib", "goka-view") }
func (quietLogger) Println(v ...any) { slog.Debug(fmt.Sprint(v...), "lib", "goka-view") }
func (quietLogger) Printf(format string, v ...any) {
	slog.Debug(fmt.Sprintf(format, v...), "lib", "goka-view")
}
