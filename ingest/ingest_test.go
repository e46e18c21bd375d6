package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/broker"
	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/ingest/videotest"
	"github.com/cropstream/cropstream/schema"
	"github.com/cropstream/cropstream/topology"
)

type env struct {
	conn *broker.Conn
	top  *topology.Topology
}

func newEnv(t *testing.T) *env {
	t.Helper()
	conn, top := brokertest.Open(t, topology.Config{CameraPartitions: 4, BlockPartitions: 2, DLQPartitions: 1, MaxFrameBytes: 1 << 20})
	return &env{conn: conn, top: top}
}

func (e *env) ingest(t *testing.T, cfg Config, src Source) (Stats, error) {
	t.Helper()
	cl, err := e.conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	in, err := New(cfg, cl, e.top)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	return in.Run(context.Background(), src)
}

// readAll reads every record of topic from the start until want are read or
// a second passes with nothing new.
func (e *env) readAll(t *testing.T, topic topology.Topic, want int) []*kgo.Record {
	t.Helper()
	cl, err := e.conn.Client(kgo.ConsumeTopics(string(topic)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		n := fs.NumRecords()
		recs = append(recs, fs.Records()...)
		if n == 0 || (want >= 0 && len(recs) >= want) {
			return recs
		}
	}
}

func TestIngestVideoOrderAndPartitions(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	cams := map[string]int{"tractor-1": 23, "tractor-2": 17, "drone-7": 31}
	total := 0
	for cam, n := range cams {
		path := filepath.Join(dir, cam+".avi")
		videotest.Write(t, path, n, 10, 320, 240)
		src, err := OpenVideo(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		if got := src.Info().Frames; got != n {
			t.Errorf("%s: source reports %d frames, want %d", cam, got, n)
		}
		st, err := e.ingest(t, Config{CameraID: cam, BlockID: "B1", RowID: "R1", FieldID: "F1"}, src)
		if err != nil {
			t.Fatal(err)
		}
		if st.Frames != n {
			t.Fatalf("%s: ingested %d frames, want %d", cam, st.Frames, n)
		}
		total += n
	}

	// Each camera's frames, then its end of stream.
	recs := e.readAll(t, topology.Frames, total+len(cams))
	if len(recs) != total+len(cams) {
		t.Fatalf("read back %d records, want %d frames and %d ends of stream", len(recs), total, len(cams))
	}
	ended := map[string]bool{}
	// The partition goka would choose, computed by sarama's own partitioner.
	part := sarama.NewHashPartitioner(string(topology.Frames))
	nparts := e.top.Topic(topology.Frames).Partitions
	next := map[string]uint64{}
	for _, r := range recs {
		f, err := schema.DecodeFrame(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		cam := string(r.Key)
		if f.CameraId != cam || f.BlockId != "B1" || f.RowId != "R1" || f.Width != 320 || f.Height != 240 {
			t.Fatalf("frame metadata %v", f)
		}
		want, err := part.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(cam)}, nparts)
		if err != nil {
			t.Fatal(err)
		}
		if r.Partition != want {
			t.Fatalf("camera %s on partition %d, goka expects %d", cam, r.Partition, want)
		}
		if f.Sequence != next[cam] || ended[cam] {
			t.Fatalf("camera %s: sequence %d, want %d (out of order; ended %v)", cam, f.Sequence, next[cam], ended[cam])
		}
		if f.EndOfStream {
			if len(f.Image) != 0 {
				t.Fatalf("camera %s: end of stream with an image", cam)
			}
			ended[cam] = true
			continue
		}
		next[cam]++
		m, err := gocv.IMDecode(f.Image, gocv.IMReadColor)
		if err != nil || m.Cols() != 320 {
			t.Fatalf("frame image does not decode: %v", err)
		}
		m.Close()
	}
	for cam, n := range cams {
		if next[cam] != uint64(n) || !ended[cam] {
			t.Errorf("camera %s: %d frames read, want %d; ended %v", cam, next[cam], n, ended[cam])
		}
	}

	// kcat, a client that shares no code with cropstream, reads a frame.
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kcat is not installed (the CI setup installs it)")
		}
		t.Skip("kcat not installed")
	}
	out, err := exec.Command(kcat, "-b", e.conn.Seeds[0], "-t", "frames", "-C", "-o", "beginning", "-c", "1", "-e", "-q", "-f", "%k|%S\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v: %s", err, out)
	}
	var size int
	parts := strings.SplitN(strings.TrimSpace(string(out)), "|", 2)
	if len(parts) != 2 {
		t.Fatalf("kcat output %q", out)
	}
	fmt.Sscan(parts[1], &size)
	if _, ok := cams[parts[0]]; !ok || size < 1000 {
		t.Fatalf("kcat read key %q size %d, want a camera's frame", parts[0], size)
	}
}

func TestIngestSampling(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "v.avi")
	videotest.Write(t, path, 60, 30, 160, 120) // 2 s at 30 fps
	src, err := OpenVideo(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.ingest(t, Config{CameraID: "c", SampleFPS: 10}, src)
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != 20 || st.Sampled != 40 {
		t.Fatalf("sampled %d frames (skipped %d), want 20 (40)", st.Frames, st.Sampled)
	}
	recs := e.readAll(t, topology.Frames, 21)
	for i, r := range recs {
		f, _ := schema.DecodeFrame(r.Value)
		if f.Sequence != uint64(i) || f.EndOfStream != (i == 20) {
			t.Fatalf("record %d has sequence %d (end %v): sampled sequences must be contiguous, then the end", i, f.Sequence, f.EndOfStream)
		}
	}
}

func TestOversizedFrameRefused(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "v.avi")
	videotest.Write(t, path, 5, 10, 640, 480)
	src, err := OpenVideo(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ingest(t, Config{CameraID: "c", MaxFrameBytes: 500}, src)
	if !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "500-byte limit") {
		t.Fatalf("err %v, want ErrFrameTooLarge naming the limit", err)
	}
	if n := len(e.readAll(t, topology.Frames, -1)); n != 0 {
		t.Fatalf("%d frames produced after refusal, want 0", n)
	}
	dl := e.readAll(t, topology.DLQ, 1)
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	d, err := schema.DecodeDeadLetter(dl[0].Value)
	if err != nil || d.Stage != Stage || !strings.Contains(d.Reason, "over the 500-byte limit") {
		t.Fatalf("dead letter %v %v", d, err)
	}
}

// greenImage is a 200x100 green image, closed when the test ends.
func greenImage(t *testing.T) gocv.Mat {
	m := gocv.NewMatWithSize(100, 200, gocv.MatTypeCV8UC3)
	t.Cleanup(func() { m.Close() })
	m.SetTo(gocv.NewScalar(10, 200, 10, 0))
	return m
}

func TestFolderWithCorruptImage(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	m := greenImage(t)
	for i, name := range []string{"a.jpg", "c.png", "d.jpg"} {
		gocv.Rectangle(&m, image.Rect(i*10, 10, i*10+20, 30), color.RGBA{255, 0, 0, 0}, -1)
		if !gocv.IMWrite(filepath.Join(dir, name), m) {
			t.Fatal("write", name)
		}
	}
	os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("not a jpeg at all"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	src, err := OpenFolder(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.ingest(t, Config{CameraID: "handheld"}, src)
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != 3 || st.DeadLetters != 1 {
		t.Fatalf("frames %d dead letters %d, want 3 and 1", st.Frames, st.DeadLetters)
	}
	dl := e.readAll(t, topology.DLQ, 1)
	d, err := schema.DecodeDeadLetter(dl[0].Value)
	if err != nil || !strings.Contains(d.Reason, "b.jpg") || string(d.OriginalValue) != "not a jpeg at all" {
		t.Fatalf("dead letter %v %v", d, err)
	}
	recs := e.readAll(t, topology.Frames, 3)
	last, _ := schema.DecodeFrame(recs[2].Value)
	if last.Width != 200 || last.Height != 100 || last.Sequence != 3 {
		t.Fatalf("last frame %dx%d seq %d, want 200x100 seq 3 (the corrupt one leaves a gap)", last.Width, last.Height, last.Sequence)
	}
}

func TestFrameIDDeterministic(t *testing.T) {
	at := time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
	a, b := FrameID("cam", 7, at), FrameID("cam", 7, at)
	if a != b || a == FrameID("cam", 8, at) || a == FrameID("cam2", 7, at) {
		t.Fatal("frame ids must depend on camera and sequence only, deterministically")
	}
	if FrameID("cam", 1, at) > FrameID("cam", 0, at.Add(time.Second)) {
		t.Fatal("frame ids must sort by capture time")
	}
}

// Each file is a stream of its own, named deterministically: the same file
// with the same capture start is the same stream (a replay for the tracker),
// another file or another start is a new one. Every frame of a run and its
// end of stream carry the run's stream.
func TestStreamPerRun(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	start := time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
	for _, name := range []string{"row1.avi", "row2.avi"} {
		videotest.Write(t, filepath.Join(dir, name), 5, 10, 160, 120)
	}
	runs := []struct {
		file  string
		start time.Time
	}{{"row1.avi", start}, {"row2.avi", start}, {"row1.avi", start}, {"row1.avi", start.Add(time.Hour)}}
	for _, r := range runs {
		src, err := OpenVideo(context.Background(), filepath.Join(dir, r.file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ingest(t, Config{CameraID: "tractor-1", BlockID: "B1", CaptureStart: r.start}, src); err != nil {
			t.Fatal(err)
		}
	}
	recs := e.readAll(t, topology.Frames, 6*len(runs))
	if len(recs) != 6*len(runs) {
		t.Fatalf("%d records, want %d", len(recs), 6*len(runs))
	}
	var streams []string
	for i, r := range recs {
		f, err := schema.DecodeFrame(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if i%6 == 0 {
			streams = append(streams, f.StreamId)
		}
		if f.StreamId == "" || f.StreamId != streams[len(streams)-1] {
			t.Fatalf("record %d (sequence %d, end %v) of stream %q, run's stream %q", i, f.Sequence, f.EndOfStream, f.StreamId, streams[len(streams)-1])
		}
	}
	if streams[0] == streams[1] || streams[0] != streams[2] || streams[0] == streams[3] {
		t.Fatalf("streams %q: want a new one per file or start, the same for the same file and start", streams)
	}
}

// A folder holds, among good images, what a hand-filled folder can: a
// symlink to /dev/zero and one to a text file outside it, a FIFO, a JPEG
// and a PNG whose headers declare 60000x60000 and 20000x20000. Each odd one
// is dead-lettered naming its file, without its bytes being read (the
// symlinks, the FIFO) or decoded (the bombs), and the good ones go on
// (before: /dev/zero ran out of memory, the FIFO hung ingest, the JPEG
// stopped the whole folder with an error naming a frame id, the PNG took
// 1.3 GB).
func TestFolderRefusesOddFiles(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	m := greenImage(t)
	for _, name := range []string{"a.jpg", "c.png", "h.bmp", "i.tif", "z.jpg"} {
		if !gocv.IMWrite(filepath.Join(dir, name), m) {
			t.Fatal("write", name)
		}
	}
	good, _ := os.ReadFile(filepath.Join(dir, "a.jpg"))
	jb := append([]byte(nil), good...)
	i := bytes.Index(jb, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	jb[i+5], jb[i+6], jb[i+7], jb[i+8] = 0xEA, 0x60, 0xEA, 0x60
	os.WriteFile(filepath.Join(dir, "b-bomb.jpg"), jb, 0o644)
	var pb bytes.Buffer
	png.Encode(&pb, image.NewGray(image.Rect(0, 0, 4, 4)))
	p := pb.Bytes() // IHDR data at 16..29, its CRC at 29..33
	binary.BigEndian.PutUint32(p[16:], 20000)
	binary.BigEndian.PutUint32(p[20:], 20000)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	os.WriteFile(filepath.Join(dir, "d-bomb.png"), p, 0o644)
	os.Symlink("/dev/zero", filepath.Join(dir, "e-zero.jpg"))
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("not for the dlq"), 0o644)
	os.Symlink(secret, filepath.Join(dir, "f-link.png"))
	if err := syscall.Mkfifo(filepath.Join(dir, "g-fifo.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}

	src, err := OpenFolder(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := e.conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	in, err := New(Config{CameraID: "handheld"}, cl, e.top)
	if err != nil {
		t.Fatal(err)
	}
	st, err := in.Run(ctx, src)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != 5 || st.DeadLetters != 5 {
		t.Fatalf("frames %d dead letters %d, want 5 and 5", st.Frames, st.DeadLetters)
	}
	want := map[string]string{
		"b-bomb.jpg": "declares 60000x60000", "d-bomb.png": "declares 20000x20000",
		"e-zero.jpg": "symbolic link", "f-link.png": "symbolic link", "g-fifo.jpg": "not a regular file",
	}
	for _, r := range e.readAll(t, topology.DLQ, 5) {
		d, err := schema.DecodeDeadLetter(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for name, reason := range want {
			if strings.Contains(d.Reason, name) && strings.Contains(d.Reason, reason) {
				found = true
				delete(want, name)
				if reason == "symbolic link" || reason == "not a regular file" {
					if len(d.OriginalValue) != 0 {
						t.Errorf("%s: %d bytes of it in the dead letter", name, len(d.OriginalValue))
					}
				}
			}
		}
		if !found {
			t.Errorf("unexpected dead letter: %s", d.Reason)
		}
	}
	if len(want) > 0 {
		t.Errorf("no dead letter for %v", want)
	}
	for _, r := range e.readAll(t, topology.Frames, 5) {
		f, _ := schema.DecodeFrame(r.Value)
		if f.Width != 200 || f.Height != 100 {
			t.Errorf("frame %s from %s is %dx%d", f.FrameId, f.Source, f.Width, f.Height)
		}
	}
}

// The embedded broker's disk fills up mid-ingest: ingest fails with an
// error that says what to look at, and reports as produced exactly the
// frames the broker stored (before, it counted every frame handed to the
// client, acknowledged or not, and said only UNKNOWN_SERVER_ERROR).
func TestBrokerDiskFullCountsOnlyStoredFrames(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	data := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", data).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", data).Run() })
	top, err := topology.New(topology.Config{CameraPartitions: 2, BlockPartitions: 1, DLQPartitions: 1, MaxFrameBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := broker.Open(ctx, broker.Config{DataDir: data}, top)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	adm, acl, err := conn.Admin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := broker.EnsureTopics(ctx, adm, top, false); err != nil {
		t.Fatal(err)
	}
	acl.Close()

	// Noise compresses badly: about 100 KB a frame, 80 frames.
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, 360, 240))
	for i := range 80 {
		for j := range img.Pix {
			img.Pix[j] = byte(rng.IntN(256))
		}
		var b bytes.Buffer
		jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.jpg", i)), b.Bytes(), 0o644)
	}
	src, err := OpenFolder(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	in, err := New(Config{CameraID: "cam"}, cl, top)
	if err != nil {
		t.Fatal(err)
	}
	st, err := in.Run(ctx, src)
	if err == nil || !strings.Contains(err.Error(), "disk") {
		t.Fatalf("ingest onto a full disk: %v (%d frames)", err, st.Frames)
	}
	t.Log(err)
	e := &env{conn: conn, top: top}
	// Never more than was stored. Fewer can be: a batch the broker wrote
	// while failing the request is not acknowledged, and re-sending it is
	// what at-least-once delivery (and the stages' dedup) is for.
	if n := len(e.readAll(t, topology.Frames, -1)); st.Frames > n || st.Frames == 0 || n == 80 {
		t.Fatalf("ingest reports %d frames, the topic holds %d (of 80)", st.Frames, n)
	}
}
