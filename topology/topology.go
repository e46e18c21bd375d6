package topology

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Topic is a Kafka topic name.
type Topic string

// Group is a consumer group (a goka group for stateful stages).
type Group string

// The topics. Their partition counts and configs come from Config.
const (
	Frames Topic = "frames"
	// FramesLive are the frames of live cameras: detect takes them before
	// any of frames, so a live frame never waits behind recorded video.
	FramesLive Topic = "frames-live"
	Detections Topic = "detections"
	Objects    Topic = "objects"
	Yield      Topic = "yield"
	DLQ        Topic = "dlq"
	// Fields is the grower's field map, one record per block (compacted).
	Fields Topic = "fields"
	// HandCounts are the sample plants counted by hand, per block (compacted).
	HandCounts Topic = "hand-counts"
	// Models says which model detect serves, and which it tries on a
	// canary (compacted, key: the role).
	Models Topic = "models"
	// ModelQuality are per-camera detection statistics and drift.
	ModelQuality Topic = "model-quality"
	// ShadowDetections are a shadow model's boxes on sampled frames.
	ShadowDetections Topic = "shadow-detections"
	// Cameras is the camera registry, one record per camera (compacted; a
	// tombstone removes it). Its partitions are what ingest instances share.
	Cameras Topic = "cameras"
	// CameraState is what each camera's reader last reported (compacted).
	CameraState Topic = "camera-state"
	// CountLines are the lines each camera's tracks are counted across
	// (compacted, key: the camera).
	CountLines Topic = "count-lines"
	// LineCrossings are the tracks counted across those lines.
	LineCrossings Topic = "line-crossings"
)

// The groups.
const (
	Detect         Group = "detect"
	Track          Group = "track"
	Aggregate      Group = "aggregate"
	SinkClickHouse Group = "sink-clickhouse"
	// Ingest is the group of ingest instances sharing the camera registry.
	Ingest Group = "ingest"
)

// Lane is how a camera's frames travel to detection: live (a camera filming
// now, wanted within a fraction of a second) or backfill (recorded video,
// re-processing: wanted in bulk, minutes later).
type Lane string

// The lanes.
const (
	Live     Lane = "live"
	Backfill Lane = "backfill"
)

// Lanes lists the lanes, live first.
var Lanes = []Lane{Live, Backfill}

// ParseLane reads a lane's name.
func ParseLane(s string) (Lane, error) {
	for _, l := range Lanes {
		if s == string(l) {
			return l, nil
		}
	}
	return "", fmt.Errorf("lane %q, want live or backfill", s)
}

// FramesOf is the frames topic of lane.
func FramesOf(l Lane) Topic {
	if l == Live {
		return FramesLive
	}
	return Frames
}

// Table is the changelog topic holding a group's state. The name follows
// goka's convention (goka.GroupTable), so goka finds it without being told.
func Table(g Group) Topic { return Topic(string(g) + "-table") }

// Key schemes.
const (
	KeyCamera    = "camera"
	KeyBlock     = "block"
	KeySourceKey = "source key"
	KeyRole      = "role"
)

// RegistryPartitions is the partition count of the camera registry: the most
// ingest instances that can share a fleet, since each partition's cameras
// are read by the one instance that holds it.
const RegistryPartitions int32 = 12

// Cleanup policies.
const (
	CleanupDelete  = "delete"
	CleanupCompact = "compact"
)

// frameOverhead is the room above the image for a frame's metadata and Kafka's
// record and batch headers.
const frameOverhead = 64 << 10

// Config sizes the topology. The zero value of each field means its default.
type Config struct {
	// CameraPartitions is the partition count of camera-keyed topics (frames,
	// detections, the track table). Default 24; see DefaultCameraPartitions.
	CameraPartitions int32
	// BlockPartitions is the partition count of block-keyed topics (objects,
	// yield, the aggregate table). Default 8.
	BlockPartitions int32
	// DLQPartitions is the partition count of the dead-letter topic. Default 4.
	DLQPartitions int32
	// Replication is the replication factor of created topics; -1 (the
	// default) leaves it to the cluster's default.replication.factor.
	Replication int16
	// MaxFrameBytes is the largest JPEG a frame may carry. Default 4 MiB. The
	// frames topic's max.message.bytes, the producer's batch size and the
	// embedded broker's message.max.bytes are all derived from it.
	MaxFrameBytes int
	// FramesRetention is how long frames are kept. Default 6h: at 5 TB/day that
	// is 1.25 TB per replica, enough to replay detection after a night's outage.
	FramesRetention time.Duration
	// EventsRetention is how long detections, objects, yield and dead letters
	// are kept. Default 7 days (168h).
	EventsRetention time.Duration
}

// Defaults, with the reasoning for 5 TB/day (57.9 MB/s of frames):
//
//   - 24 camera partitions: at 100 KB per JPEG the target is ~580 frames/s; a
//     CPU detect instance does ~100 frames/s, so ~6 instances are needed, and a
//     consumer group cannot use more instances than partitions. 24 leaves 4x
//     headroom, puts 2.4 MB/s on each partition (far below what one Kafka
//     partition carries), and divides evenly by 1, 2, 3, 4, 6, 8 and 12
//     instances. Cameras hash onto partitions, so a fleet needs at least as many
//     cameras as partitions to fill them.
//   - 8 block partitions: objects and yield are a few hundred records per second
//     at most; 8 is for parallelism of the aggregate stage, not for bandwidth.
const (
	DefaultCameraPartitions int32 = 24
	DefaultBlockPartitions  int32 = 8
	DefaultDLQPartitions    int32 = 4
	DefaultMaxFrameBytes          = 4 << 20
	DefaultFramesRetention        = 6 * time.Hour
	DefaultEventsRetention        = 7 * 24 * time.Hour
)

func (c Config) withDefaults() Config {
	c.CameraPartitions = cmp.Or(c.CameraPartitions, DefaultCameraPartitions)
	c.BlockPartitions = cmp.Or(c.BlockPartitions, DefaultBlockPartitions)
	c.DLQPartitions = cmp.Or(c.DLQPartitions, DefaultDLQPartitions)
	c.Replication = cmp.Or(c.Replication, -1)
	c.MaxFrameBytes = cmp.Or(c.MaxFrameBytes, DefaultMaxFrameBytes)
	c.FramesRetention = cmp.Or(c.FramesRetention, DefaultFramesRetention)
	c.EventsRetention = cmp.Or(c.EventsRetention, DefaultEventsRetention)
	return c
}

// TopicSpec is the declaration of one topic.
type TopicSpec struct {
	Name       Topic  `json:"name"`
	Partitions int32  `json:"partitions"`
	Key        string `json:"key"`
	Codec      string `json:"codec"`
	Cleanup    string `json:"cleanup"`
	// RetentionMs is retention.ms; -1 keeps forever (compacted tables).
	RetentionMs     int64  `json:"retention_ms"`
	Compression     string `json:"compression"`
	MaxMessageBytes int    `json:"max_message_bytes"`
	// SegmentMs, when set, is segment.ms: a compacted topic rewritten often
	// rolls segments sooner, since only closed segments are compacted.
	SegmentMs int64  `json:"segment_ms,omitempty"`
	Doc       string `json:"doc"`
}

// Configs is the topic-level Kafka configuration this spec requires.
func (s TopicSpec) Configs() map[string]string {
	c := map[string]string{
		"cleanup.policy":    s.Cleanup,
		"retention.ms":      strconv.FormatInt(s.RetentionMs, 10),
		"max.message.bytes": strconv.Itoa(s.MaxMessageBytes),
		"compression.type":  s.Compression,
	}
	if s.SegmentMs > 0 {
		c["segment.ms"] = strconv.FormatInt(s.SegmentMs, 10)
	}
	return c
}

// GroupSpec declares one consumer group and the topics it reads and writes.
type GroupSpec struct {
	Name    Group   `json:"name"`
	Inputs  []Topic `json:"inputs"`
	Outputs []Topic `json:"outputs"`
	Table   *Topic  `json:"table"`
	// Lookups are compacted topics the group's processes read whole as a
	// table (fieldmap.Table), at any partitioning.
	Lookups []Topic `json:"lookups,omitempty"`
	Doc     string  `json:"-"`
}

// Topology is the whole declaration. Build it with New.
type Topology struct {
	Config Config      `json:"-"`
	Topics []TopicSpec `json:"topics"`
	Groups []GroupSpec `json:"groups"`
}

// New declares the topology for cfg and validates it.
func New(cfg Config) (*Topology, error) {
	cfg = cfg.withDefaults()
	events := cfg.EventsRetention.Milliseconds()
	// One record limit for every topic: a producer's batch limit is global,
	// so a batch it may build for one topic must be accepted by all of them.
	limit := cfg.MaxFrameBytes + frameOverhead
	t := &Topology{Config: cfg}
	// Every topic takes the producer's compression and the one record
	// limit; a compacted topic keeps its records for ever, any other for
	// the events retention unless it says otherwise.
	t.Topics = []TopicSpec{
		{Name: Frames, Partitions: cfg.CameraPartitions, Key: KeyCamera, Codec: "protobuf:cropstream.v1.Frame",
			Cleanup: CleanupDelete, RetentionMs: cfg.FramesRetention.Milliseconds(),
			Doc: "one JPEG frame and its capture metadata, of recorded video and re-processing (the backfill lane); JPEG does not compress, so producers send it uncompressed"},
		{Name: FramesLive, Partitions: cfg.CameraPartitions, Key: KeyCamera, Codec: "protobuf:cropstream.v1.Frame",
			Cleanup: CleanupDelete, RetentionMs: cfg.FramesRetention.Milliseconds(),
			Doc: "frames of live cameras (the live lane): detect polls them before frames; a camera's stream stays on one lane"},
		{Name: Detections, Partitions: cfg.CameraPartitions, Key: KeyCamera, Codec: "protobuf:cropstream.v1.Detections", Cleanup: CleanupDelete,
			Doc: "boxes of one frame, in per-camera frame order; co-partitioned with frames"},
		{Name: Table(Track), Partitions: cfg.CameraPartitions, Key: KeyCamera, Codec: "gob:track.State and streams + count lines + crossings log + emitted log (marker 0x04)", Cleanup: CleanupCompact,
			Doc: "tracker state per camera (goka group table of track)"},
		{Name: Objects, Partitions: cfg.BlockPartitions, Key: KeyBlock, Codec: "protobuf:cropstream.v1.CountedObject", Cleanup: CleanupDelete,
			Doc: "one record per counted physical object, id = camera + stream + track"},
		{Name: Table(Aggregate), Partitions: cfg.BlockPartitions, Key: KeyBlock, Codec: "gob:aggregate.blockState/v4 (marker 0x01)", Cleanup: CleanupCompact,
			Doc: "running totals per block (goka group table of aggregate)"},
		{Name: Yield, Partitions: cfg.BlockPartitions, Key: KeyBlock, Codec: "protobuf:cropstream.v1.YieldEstimate", Cleanup: CleanupDelete,
			Doc: "yield estimate per block and window, id = block + window"},
		{Name: Fields, Partitions: cfg.BlockPartitions, Key: KeyBlock, Codec: "protobuf:cropstream.v1.FieldBlock", Cleanup: CleanupCompact,
			Doc: "the field map: crop, rows, plants and spacing of each block (cropstream fields apply)"},
		{Name: HandCounts, Partitions: cfg.BlockPartitions, Key: KeyBlock, Codec: "protobuf:cropstream.v1.HandCounts", Cleanup: CleanupCompact,
			Doc: "hand-counted sample plants of each block (cropstream handcounts add); co-partitioned with objects"},
		{Name: Models, Partitions: 1, Key: KeyRole, Codec: "protobuf:cropstream.v1.ModelDeployment", Cleanup: CleanupCompact,
			Doc: "the model detect serves (key serving) and its canary (key canary): id and path (cropstream model deploy/rollback); one partition, so every detect process reads the same order"},
		{Name: ModelQuality, Partitions: cfg.CameraPartitions, Key: KeyCamera, Codec: "protobuf:cropstream.v1.ModelQuality", Cleanup: CleanupDelete,
			Doc: "per camera and window of frames: boxes, scores, brightness, and drift (KS, PSI) against the model's reference"},
		{Name: ShadowDetections, Partitions: cfg.CameraPartitions, Key: KeyCamera, Codec: "protobuf:cropstream.v1.Detections", Cleanup: CleanupDelete,
			Doc: "a shadow model's boxes on a sampled share of frames, beside the serving model's; compared by cropstream model compare, never counted"},
		{Name: DLQ, Partitions: cfg.DLQPartitions, Key: KeySourceKey, Codec: "protobuf:cropstream.v1.DeadLetter", Cleanup: CleanupDelete,
			Doc: "records a stage could not process, with reason and source topic/partition/offset"},
		{Name: Cameras, Partitions: RegistryPartitions, Key: KeyCamera, Codec: "json:fleet.Camera", Cleanup: CleanupCompact,
			Doc: "the camera registry: source URL and place of each camera (cropstream cameras add/remove)"},
		{Name: CameraState, Partitions: RegistryPartitions, Key: KeyCamera, Codec: "json:fleet.State", Cleanup: CleanupCompact,
			// A report per camera every few seconds: without short segments
			// the topic would keep days of them before compacting any.
			SegmentMs: (10 * time.Minute).Milliseconds(),
			Doc:       "each camera's reader state as its ingest instance last reported it (connected, reconnecting, frames/s, last error)"},
		{Name: CountLines, Partitions: 1, Key: KeyCamera, Codec: "json:zones.CameraLines", Cleanup: CleanupCompact,
			Doc: "the count lines of each camera that has any (cropstream zones set/clear); read whole by every track process"},
		{Name: LineCrossings, Partitions: cfg.CameraPartitions, Key: KeyCamera, Codec: "protobuf:cropstream.v1.LineCrossing", Cleanup: CleanupDelete,
			Doc: "one record per track counted across a camera's count line, per direction, id = camera + stream + track + line + direction"},
	}
	for i := range t.Topics {
		s := &t.Topics[i]
		s.Compression, s.MaxMessageBytes = "producer", limit
		switch {
		case s.Cleanup == CleanupCompact:
			s.RetentionMs = -1
		case s.RetentionMs == 0:
			s.RetentionMs = events
		}
	}
	trackTable, aggTable := Table(Track), Table(Aggregate)
	t.Groups = []GroupSpec{
		{Name: Detect, Inputs: []Topic{Frames, FramesLive}, Outputs: []Topic{Detections, ModelQuality, ShadowDetections, DLQ}, Lookups: []Topic{Models},
			Doc: "decode, batch, run the detector (switching models between batches as deployed), emit boxes and drift; live frames first"},
		{Name: Track, Inputs: []Topic{Detections}, Outputs: []Topic{Detections, Objects, LineCrossings, DLQ}, Table: &trackTable, Lookups: []Topic{Fields, CountLines},
			Doc: "track objects across frames per camera, emit each once with its plant; end passes (stream end, idle gap); count tracks across the camera's count lines"},
		{Name: Aggregate, Inputs: []Topic{Objects, HandCounts}, Outputs: []Topic{Yield, DLQ}, Table: &aggTable, Lookups: []Topic{Fields},
			Doc: "totals per block/row/plant, windows closed by row passes, calibrated yield estimates"},
		{Name: Ingest, Inputs: []Topic{Cameras}, Outputs: []Topic{FramesLive, Frames, DLQ, CameraState, Cameras}, Lookups: []Topic{Cameras, CameraState},
			Doc: "one reader per registered camera, each on one instance; reconnects forever"},
		{Name: SinkClickHouse, Inputs: []Topic{Frames, FramesLive, Detections, Objects, Yield, ModelQuality, LineCrossings, DLQ}, Outputs: []Topic{DLQ},
			Doc: "batched, exactly-once inserts into ClickHouse"},
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// Topic returns the spec of name. It panics on a name not declared here,
// which is a programming error: names come from this package's constants.
func (t *Topology) Topic(name Topic) TopicSpec {
	for _, s := range t.Topics {
		if s.Name == name {
			return s
		}
	}
	panic(fmt.Sprintf("topology: topic %q is not declared", name))
}

// Group returns the declaration of name. It panics on a name not declared
// here, as Topic does.
func (t *Topology) Group(name Group) GroupSpec {
	for _, g := range t.Groups {
		if g.Name == name {
			return g
		}
	}
	panic(fmt.Sprintf("topology: group %q is not declared", name))
}

// Names are the topics' names as Kafka clients take them.
func Names(ts []Topic) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t)
	}
	return names
}

// TopicNames lists every declared topic.
func (t *Topology) TopicNames() []string {
	names := make([]string, len(t.Topics))
	for i, s := range t.Topics {
		names[i] = string(s.Name)
	}
	return names
}

// DeadLetteredBy names a group other than except that reads topic and
// writes dead letters: it dead-letters the records of topic it cannot
// decode, so another reader (the sink) need not dead-letter them again. The
// dead-letter topic itself has none.
func (t *Topology) DeadLetteredBy(topic Topic, except Group) (Group, bool) {
	if topic == DLQ {
		return "", false
	}
	for _, g := range t.Groups {
		if g.Name == except || !slices.Contains(g.Inputs, topic) || !slices.Contains(g.Outputs, DLQ) {
			continue
		}
		return g.Name, true
	}
	return "", false
}

// MaxRecordBytes is the largest record batch every topic accepts: producers
// cap their batches at it, and it is the smallest max.message.bytes declared.
func (t *Topology) MaxRecordBytes() int {
	m := 0
	for i, s := range t.Topics {
		if i == 0 || s.MaxMessageBytes < m {
			m = s.MaxMessageBytes
		}
	}
	return m
}

// Validate checks the declaration:
//   - topic names are unique and non-empty, partition counts are >= 1;
//   - cleanup is delete or compact, and compacted topics are kept forever;
//   - every group input, output and table is a declared topic;
//   - a group's inputs and table share key scheme and partition count, because
//     goka co-partitions a group's state with its inputs;
//   - a group's lookups are declared compacted topics;
//   - both frames topics accept a record of MaxFrameBytes plus metadata, and
//     every topic accepts what a producer may batch for frames;
//   - replication is -1 or >= 1.
func (t *Topology) Validate() error {
	var errs []error
	byName := map[Topic]TopicSpec{}
	for _, s := range t.Topics {
		if s.Name == "" {
			errs = append(errs, errors.New("a topic has no name"))
			continue
		}
		if _, dup := byName[s.Name]; dup {
			errs = append(errs, fmt.Errorf("topic %s declared twice", s.Name))
		}
		byName[s.Name] = s
		if s.Partitions < 1 {
			errs = append(errs, fmt.Errorf("topic %s: partitions %d, want >= 1", s.Name, s.Partitions))
		}
		switch s.Cleanup {
		case CleanupDelete:
		case CleanupCompact:
			if s.RetentionMs != -1 {
				errs = append(errs, fmt.Errorf("topic %s: compacted topics must keep data forever (retention.ms -1)", s.Name))
			}
		default:
			errs = append(errs, fmt.Errorf("topic %s: cleanup %q, want delete or compact", s.Name, s.Cleanup))
		}
	}
	if f, ok := byName[Frames]; ok {
		for _, name := range []Topic{Frames, FramesLive} {
			if s, ok := byName[name]; ok && s.MaxMessageBytes < t.Config.MaxFrameBytes+frameOverhead {
				errs = append(errs, fmt.Errorf("topic %s: max.message.bytes %d is below max frame bytes %d plus metadata", name, s.MaxMessageBytes, t.Config.MaxFrameBytes))
			}
		}
		for _, s := range t.Topics {
			if s.MaxMessageBytes < f.MaxMessageBytes {
				errs = append(errs, fmt.Errorf("topic %s: max.message.bytes %d is below the frames topic's %d, which producers batch up to", s.Name, s.MaxMessageBytes, f.MaxMessageBytes))
			}
		}
	}
	if t.Config.Replication != -1 && t.Config.Replication < 1 {
		errs = append(errs, fmt.Errorf("replication %d, want -1 (cluster default) or >= 1", t.Config.Replication))
	}
	for _, g := range t.Groups {
		var copart []Topic
		for _, in := range g.Inputs {
			if _, ok := byName[in]; !ok {
				errs = append(errs, fmt.Errorf("group %s: input %s is not declared", g.Name, in))
				continue
			}
			copart = append(copart, in)
		}
		for _, out := range g.Outputs {
			if _, ok := byName[out]; !ok {
				errs = append(errs, fmt.Errorf("group %s: output %s is not declared", g.Name, out))
			}
		}
		for _, l := range g.Lookups {
			if s, ok := byName[l]; !ok || s.Cleanup != CleanupCompact {
				errs = append(errs, fmt.Errorf("group %s: lookup %s is not a declared compacted topic", g.Name, l))
			}
		}
		if g.Table == nil {
			continue // stateless groups may read topics of any partitioning
		}
		if _, ok := byName[*g.Table]; !ok {
			errs = append(errs, fmt.Errorf("group %s: table %s is not declared", g.Name, *g.Table))
			continue
		}
		copart = append(copart, *g.Table)
		first := byName[copart[0]]
		for _, name := range copart[1:] {
			s := byName[name]
			if s.Partitions != first.Partitions || s.Key != first.Key {
				errs = append(errs, fmt.Errorf("group %s: %s (%d partitions, key %s) is not co-partitioned with %s (%d partitions, key %s)",
					g.Name, name, s.Partitions, s.Key, first.Name, first.Partitions, first.Key))
			}
		}
	}
	return errors.Join(errs...)
}

// String, Set and Type make *Lane a command-line flag (pflag.Value).
func (l Lane) String() string { return string(l) }

// Set is ParseLane into l.
func (l *Lane) Set(s string) (err error) { *l, err = ParseLane(s); return err }

// Type names the flag's value in help.
func (l *Lane) Type() string { return "lane" }
