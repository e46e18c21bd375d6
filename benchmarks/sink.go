package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/sinks"
	"github.com/cropstream/cropstream/sinks/clickhouse"
	"github.com/cropstream/cropstream/topology"
)

// DetRecords makes n detections records of boxes boxes each, over 8
// cameras, captured at at(i).
func DetRecords(n, boxes int, at func(i int) int64) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		cam := fmt.Sprintf("cam-%d", i%8)
		d := &schema.Detections{FrameId: fmt.Sprintf("%s-%d", cam, i), CameraId: cam, FieldId: "F", BlockId: "B1", RowId: "R1",
			CaptureUnixNs: at(i), Sequence: uint64(i / 8), Width: 1280, Height: 720, Model: "cropnet", ClassNames: []string{"apple"}}
		d.DetectedUnixNs = d.CaptureUnixNs
		for k := 0; k < boxes; k++ {
			x := rand.Float32() * 1200
			d.Detections = append(d.Detections, &schema.Detection{Box: &schema.Box{X1: x, Y1: x / 2, X2: x + 30, Y2: x/2 + 30}, Score: rand.Float32()})
		}
		v, _ := schema.Encode(d)
		recs[i] = &kgo.Record{Topic: string(topology.Detections), Key: []byte(cam), Value: v}
	}
	return recs
}

// DetectionsTable is the detections table alone, what the sink benchmarks
// feed.
func DetectionsTable() *sinks.Table {
	for _, t := range sinks.Tables() {
		if t.Topic == topology.Detections {
			return t
		}
	}
	panic("benchmarks: no detections table")
}

// SinkResult is what SinkStage measured: the sink storing rows, and the
// same rows in one Native insert (the server's limit on this machine).
type SinkResult struct {
	Rows, Inserts int
	Elapsed, Raw  time.Duration
	InsertMs      float64
	// WaitMs is how long the sink's loop stood waiting for an insert in
	// flight, in all.
	WaitMs float64
	Frames int
	// CPU time of each measurement: this process (the sink, or the raw
	// insert, and the embedded broker) and the server's (zero when its
	// process is not known). Unlike the rates they hardly move with what
	// else the machine runs; merges after the measurement are not in them.
	RawCPU, SinkCPU, RawServerCPU, SinkServerCPU time.Duration
}

// CPUMicrosPerRow is core-µs per row of the sink and of the raw insert,
// both processes together.
func (r SinkResult) CPUMicrosPerRow() (sink, raw float64) {
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(r.Rows) }
	return per(r.SinkCPU + r.SinkServerCPU), per(r.RawCPU + r.RawServerCPU)
}

// RowsPerSec is the sink's rate, RawRowsPerSec the one-insert rate and
// Ratio the first over the second.
func (r SinkResult) RowsPerSec() float64 { return float64(r.Rows) / r.Elapsed.Seconds() }

// RawRowsPerSec: see RowsPerSec.
func (r SinkResult) RawRowsPerSec() float64 { return float64(r.Rows) / r.Raw.Seconds() }

// Ratio: see RowsPerSec.
func (r SinkResult) Ratio() float64 { return r.RowsPerSec() / r.RawRowsPerSec() }

// SinkBatch is how the sink batches rows: sinks.Config.MaxRows and
// clickhouse.Config.BlockRows (0: their defaults).
type SinkBatch struct{ MaxRows, BlockRows int }

// SinkStage puts frames detections records of boxes boxes each into the
// broker of conn (its detections topic must be empty), then measures on the
// ClickHouse server at addr, each into a fresh database: (1) the raw limit,
// the same rows decoded beforehand and sent column by column in one Native
// insert; (2) the sink from start until it has stored every row, batching
// as batch says. Raw goes first so that the
// merges of the sink's parts do not slow it.
func SinkStage(ctx context.Context, conn *broker.Conn, addr string, serverPID, frames, boxes int, batch SinkBatch) (SinkResult, error) {
	res := SinkResult{Rows: frames * boxes, Frames: frames}
	recs := DetRecords(frames, boxes, func(int) int64 { return time.Now().UnixNano() })
	cl, err := conn.Client()
	if err != nil {
		return res, err
	}
	err = cl.ProduceSync(ctx, recs...).FirstErr()
	cl.Close()
	if err != nil {
		return res, fmt.Errorf("bench sink: produce: %w", err)
	}
	table := DetectionsTable()
	// Each measurement's database is dropped after it: the server may be
	// an operator's (bench --clickhouse).
	var dbs []*clickhouse.Store
	defer func() {
		for _, st := range dbs {
			_ = st.Conn().Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS `"+st.Database()+"`")
			st.Close()
		}
	}()
	open := func(db string, blockRows int) (*clickhouse.Store, error) {
		st, err := clickhouse.Open(ctx, clickhouse.Config{Addr: []string{addr}, Database: db, BlockRows: blockRows})
		if err != nil {
			return nil, err
		}
		dbs = append(dbs, st)
		if _, err := st.Migrate(ctx); err != nil {
			return nil, err
		}
		return st, nil
	}
	suffix := rand.Uint32()

	// The raw insert sends the sink's default blocks whatever batch says,
	// so that the two differ only in what the sink does around the insert
	// (at 65,536 rows, the blocks clickhouse-client sends a Native file in,
	// it was no faster).
	raw, err := open(fmt.Sprintf("bench_raw_%d", suffix), 0)
	if err != nil {
		return res, fmt.Errorf("bench sink: %w", err)
	}
	rows := sinks.NewBlock(table)
	for _, r := range recs {
		if err := table.Decode(rows, r.Value, r.Partition, r.Offset); err != nil {
			return res, err
		}
	}
	cpu := startCPU(serverPID)
	start := time.Now()
	err = raw.Insert(ctx, table, rows)
	res.Raw = time.Since(start)
	res.RawCPU, res.RawServerCPU = cpu()
	if err != nil {
		return res, fmt.Errorf("bench sink: raw insert: %w", err)
	}

	st, err := open(fmt.Sprintf("bench_sink_%d", suffix), batch.BlockRows)
	if err != nil {
		return res, fmt.Errorf("bench sink: %w", err)
	}
	sink, err := sinks.New(sinks.Config{Store: st, Tables: []*sinks.Table{table}, MaxRows: batch.MaxRows}, conn)
	if err != nil {
		return res, err
	}
	cpu = startCPU(serverPID)
	if res.Elapsed, err = timeStage(ctx, "sink", sink.Run, sink.Stats.Rows.Load, int64(res.Rows)); err != nil {
		return res, err
	}
	res.SinkCPU, res.SinkServerCPU = cpu()
	res.Inserts = int(sink.Stats.Inserts.Load())
	res.InsertMs = float64(sink.Stats.InsertNanos.Load()) / 1e6 / float64(max(res.Inserts, 1))
	res.WaitMs = float64(sink.Stats.WaitNanos.Load()) / 1e6
	return res, nil
}

// startCPU starts counting CPU time of this process and of process pid (0:
// none); the func it returns gives both so far.
func startCPU(pid int) func() (self, other time.Duration) {
	other := func() time.Duration {
		if pid <= 0 {
			return 0
		}
		return procCPU(strconv.Itoa(pid))
	}
	self0, other0 := procCPU("self"), other()
	return func() (time.Duration, time.Duration) {
		return procCPU("self") - self0, other() - other0
	}
}

// procCPU is user + system time of process pid ("self": this one) from
// /proc/PID/stat, zero where that cannot be read.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The fields after the command, which may hold spaces, in parentheses.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat times.
const clockTicks = 100
