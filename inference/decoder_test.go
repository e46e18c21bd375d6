package inference

import (
	"bytes"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/inference/inferencetest"
)

// frameJPEG is the simulator's frame resized to w x h, as a JPEG of quality
// q (progressive when asked).
func frameJPEG(t *testing.T, full gocv.Mat, w, h, q int, progressive bool) []byte {
	t.Helper()
	img := gocv.NewMat()
	defer img.Close()
	gocv.Resize(full, &img, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	params := []int{gocv.IMWriteJpegQuality, q}
	if progressive {
		params = append(params, gocv.IMWriteJpegProgressive, 1)
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, params)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

// firstDiff says where two inputs first differ.
func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// The CPU decoder behind the interface gives today's decode (the
// Preprocessor's, one frame at a time) byte for byte and float for float,
// for inputs it writes in place and ones it resizes, and the same errors.
func TestCPUDecoderMatchesPreprocessor(t *testing.T) {
	full := renderImage(t)
	defer full.Close()
	jpgs := [][]byte{frameJPEG(t, full, 1280, 720, 90, false), frameJPEG(t, full, 1000, 1000, 85, false), frameJPEG(t, full, 640, 480, 90, true)}
	sizes := [][2]int{{1280, 720}, {1000, 1000}, {640, 480}}
	jpgs = append(jpgs, jpgs[0][:len(jpgs[0])/2])
	sizes = append(sizes, sizes[0])
	for _, in := range []ModelInfo{{Width: 640, Height: 640, UInt8: true}, {Width: 512, Height: 288}} {
		dec, err := NewDecoder(DecoderConfig{Mode: DecodeCPU}, in, 2)
		if err != nil {
			t.Fatal(err)
		}
		if dec.Kind() != DecoderCPU {
			t.Fatalf("kind %q", dec.Kind())
		}
		got, want := NewBatch(in, len(jpgs)), NewBatch(in, len(jpgs))
		pre := NewPreprocessor(in.Width, in.Height)
		var jobs []*DecodeJob
		for i, j := range jpgs {
			jobs = append(jobs, &DecodeJob{JPEG: j, W: sizes[i][0], H: sizes[i][1], Slot: len(jpgs) - 1 - i})
		}
		dec.Decode(jobs, got)
		for i, j := range jobs {
			lb, err := pre.Decode(jpgs[i], j.W, j.H, want, j.Slot)
			if (err == nil) != (j.Err == nil) || (err != nil && err.Error() != j.Err.Error()) {
				t.Fatalf("input %dx%d, frame %d: error %v, the preprocessor's %v", in.Width, in.Height, i, j.Err, err)
			}
			if err == nil && (lb != j.LB || j.By != DecoderCPU || j.Took <= 0) {
				t.Fatalf("frame %d: letterbox %+v by %q in %v, want %+v by cpu", i, j.LB, j.By, j.Took, lb)
			}
			if m, c := got.ImageStats(j.Slot, j.LB); err == nil && (j.Bright != m || j.Contrast != c || m == 0) {
				t.Fatalf("frame %d: brightness %v contrast %v, the input's %v %v", i, j.Bright, j.Contrast, m, c)
			}
		}
		if !errors.Is(jobs[3].Err, ErrTruncatedJPEG) {
			t.Fatalf("half a JPEG: %v", jobs[3].Err)
		}
		// The truncated frame's slot (0) holds what libjpeg got to in both.
		if in.UInt8 && !bytes.Equal(got.u8, want.u8) {
			i := firstDiff(got.u8, want.u8)
			t.Fatalf("byte %d (slot %d) is %d, today's decode %d", i, i/got.per, got.u8[i], want.u8[i])
		}
		if !in.UInt8 {
			for i := range got.f32 {
				if got.f32[i] != want.f32[i] {
					t.Fatalf("value %d (slot %d) is %v, today's decode %v", i, i/got.per, got.f32[i], want.f32[i])
				}
			}
		}
		pre.Close()
		dec.Close()
	}
}

// The letterbox kernel's per-pixel function, run on the CPU, gives OpenCV's
// linear resize within one level (exactly its 2x2 average at half size)
// and grey 114 bars, for inputs the frame fills, and bars at the sides or
// at the top and bottom.
func TestLetterboxKernelMatchesOpenCV(t *testing.T) {
	full := renderImage(t)
	defer full.Close()
	cases := []struct{ frame, in [2]int }{
		{[2]int{1280, 720}, [2]int{640, 640}}, // half size exactly
		{[2]int{1280, 720}, [2]int{512, 288}},
		{[2]int{1000, 1000}, [2]int{640, 640}},
		{[2]int{480, 640}, [2]int{320, 320}},
		{[2]int{300, 200}, [2]int{640, 640}}, // enlarged
	}
	for _, c := range cases {
		src := gocv.NewMat()
		gocv.Resize(full, &src, image.Pt(c.frame[0], c.frame[1]), 0, 0, gocv.InterpolationArea)
		data, _ := src.DataPtrUint8()
		lb := NewLetterbox(c.frame[0], c.frame[1], c.in[0], c.in[1])
		got := make([]byte, 3*c.in[0]*c.in[1])
		letterboxOnCPU(data, c.frame[0], c.frame[1], got, c.in[0], c.in[1], lb)
		pre := NewPreprocessor(c.in[0], c.in[1])
		want := make([]byte, len(got))
		if _, err := pre.IntoUInt8(src, want); err != nil {
			t.Fatal(err)
		}
		limit := 1
		if c.frame[0] == 2*c.in[0] {
			limit = 0
		}
		worst, at := 0, 0
		for i := range got {
			if d := max(int(got[i])-int(want[i]), int(want[i])-int(got[i])); d > worst {
				worst, at = d, i
			}
		}
		if worst > limit {
			t.Fatalf("frame %v in %v: byte %d (y %d) is %d, OpenCV's %d (at most %d apart)", c.frame, c.in, at, at/(3*c.in[0]), got[at], want[at], limit)
		}
		pre.Close()
		src.Close()
	}
}

// Without nvJPEG (here: an empty directory, and this machine's library
// path, which has none) auto decodes on the CPU and gpu is refused with an
// error that names what is missing and what to do.
func TestGPUDecoderMissingLibrary(t *testing.T) {
	u8 := ModelInfo{Width: 64, Height: 64, UInt8: true}
	for _, dir := range []string{t.TempDir(), ""} {
		if dir == "" {
			if _, err := findLib("", nvjpegNames); err == nil {
				continue // this machine has nvJPEG on its library path
			}
		}
		t.Setenv(NVJPEGDirEnv, dir)
		d, err := NewDecoder(DecoderConfig{Mode: DecodeAuto}, u8, 1)
		if err != nil || d.Kind() != DecoderCPU {
			t.Fatalf("dir %q: auto gave %v, %v; want the CPU decoder", dir, d, err)
		}
		d.Close()
		_, err = NewDecoder(DecoderConfig{Mode: DecodeGPU}, u8, 1)
		if !errors.Is(err, ErrNoGPUDecoder) || !strings.Contains(err.Error(), "libnvjpeg.so.13 or libnvjpeg.so.12") || !strings.Contains(err.Error(), NVJPEGDirEnv) {
			t.Fatalf("dir %q: gpu gave %v", dir, err)
		}
	}
	if _, err := NewDecoder(DecoderConfig{Mode: "fast"}, u8, 1); err == nil || !strings.Contains(err.Error(), "want cpu, gpu or auto") {
		t.Fatalf("mode fast: %v", err)
	}
}

// The loader resolves every entry point it declares from the libraries in
// the directory (CUDA 12's sonames when 13's are absent), compiles the
// kernel once for all decoders, names the entry point a library lacks, and
// refuses a machine with no device.
func TestGPUDecoderLoader(t *testing.T) {
	u8 := ModelInfo{Width: 64, Height: 64, UInt8: true}
	dir := inferencetest.FakeCUDA(t, "12")
	t.Setenv("FAKE_NVRTC_ONCE", "1")
	for range 2 {
		d, err := NewDecoder(DecoderConfig{Mode: DecodeGPU, LibDir: dir, Driver: filepath.Join(dir, "libcuda.so.1")}, u8, 1)
		if err != nil {
			t.Fatal(err)
		}
		if d.Kind() != DecoderNVJPEG {
			t.Fatalf("kind %q", d.Kind())
		}
		d.Close()
	}

	missing := inferencetest.FakeCUDA(t, "13", "-DFAKE_OMIT_BATCHED")
	_, err := NewDecoder(DecoderConfig{Mode: DecodeGPU, LibDir: missing, Driver: filepath.Join(missing, "libcuda.so.1")}, u8, 1)
	if !errors.Is(err, ErrNoGPUDecoder) || !strings.Contains(err.Error(), "libnvjpeg.so.13 has no nvjpegDecodeBatched") {
		t.Fatalf("without nvjpegDecodeBatched: %v", err)
	}

	none := inferencetest.FakeCUDA(t, "13", "-DFAKE_NO_DEVICE")
	cfg := DecoderConfig{Mode: DecodeGPU, LibDir: none, Driver: filepath.Join(none, "libcuda.so.1")}
	if _, err = NewDecoder(cfg, u8, 1); !errors.Is(err, ErrNoGPUDecoder) || !strings.Contains(err.Error(), "no CUDA device 0 (0 found)") {
		t.Fatalf("no device: %v", err)
	}
	cfg.Mode = DecodeAuto
	if d, err := NewDecoder(cfg, u8, 1); err != nil || d.Kind() != DecoderCPU {
		t.Fatalf("no device, auto: %v, %v", d, err)
	}

	cfg = DecoderConfig{Mode: DecodeGPU, LibDir: dir, Driver: filepath.Join(dir, "libcuda.so.1")}
	if _, err = NewDecoder(cfg, ModelInfo{Width: 64, Height: 64}, 1); !errors.Is(err, ErrNoGPUDecoder) || !strings.Contains(err.Error(), "float input") {
		t.Fatalf("float model: %v", err)
	}
}

// Through the stand-in libraries the GPU decoder's whole path runs: JPEGs
// staged, decoded at full size, letterboxed by the kernel (its per-pixel
// function) into each job's slot, copied back. Each slot holds the
// letterbox of the full-size decode; progressive and truncated frames go
// to the CPU (the truncated one an ErrTruncatedJPEG); a batch nvJPEG fails
// is decoded on the CPU as a whole.
func TestGPUDecoderPath(t *testing.T) {
	full := renderImage(t)
	defer full.Close()
	dir := inferencetest.FakeCUDA(t, "13")
	info := ModelInfo{Width: 320, Height: 320, UInt8: true}
	d, err := NewDecoder(DecoderConfig{Mode: DecodeGPU, LibDir: dir, Driver: filepath.Join(dir, "libcuda.so.1")}, info, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sizes := [][2]int{{640, 360}, {500, 500}, {480, 640}, {640, 360}, {640, 480}}
	var jpgs [][]byte
	for i, s := range sizes {
		jpgs = append(jpgs, frameJPEG(t, full, s[0], s[1], 90, i == 4))
	}
	jpgs[3] = jpgs[3][:len(jpgs[3])*2/3]
	run := func() ([]*DecodeJob, *Batch) {
		b := NewBatch(info, len(jpgs)+1)
		var jobs []*DecodeJob
		for i, j := range jpgs {
			jobs = append(jobs, &DecodeJob{JPEG: j, W: sizes[i][0], H: sizes[i][1], Slot: len(jpgs) - i})
		}
		d.Decode(jobs, b)
		return jobs, b
	}
	jobs, b := run()
	cpu := NewBatch(info, len(jpgs)+1)
	pre := NewPreprocessor(info.Width, info.Height)
	defer pre.Close()
	for i, j := range jobs {
		by := map[bool]string{true: DecoderNVJPEG, false: DecoderCPU}[i < 3]
		if j.By != by || (j.Err != nil) != (i == 3) {
			t.Fatalf("frame %d: by %q, error %v; want by %s", i, j.By, j.Err, by)
		}
		if i == 3 {
			if !errors.Is(j.Err, ErrTruncatedJPEG) {
				t.Fatalf("truncated frame: %v", j.Err)
			}
			continue
		}
		lb, err := pre.Decode(j.JPEG, j.W, j.H, cpu, j.Slot)
		if err != nil || lb != j.LB {
			t.Fatalf("frame %d: letterbox %+v, the CPU's %+v (%v)", i, j.LB, lb, err)
		}
		if m, c := b.ImageStats(j.Slot, j.LB); j.Bright != m || j.Contrast != c || m == 0 {
			t.Fatalf("frame %d: brightness %v contrast %v, the input's %v %v", i, j.Bright, j.Contrast, m, c)
		}
		slot := b.u8[j.Slot*b.per : (j.Slot+1)*b.per]
		if j.By == DecoderCPU {
			if !bytes.Equal(slot, cpu.u8[j.Slot*b.per:(j.Slot+1)*b.per]) {
				t.Fatalf("frame %d: not the CPU decoder's bytes", i)
			}
			continue
		}
		if want := fullSizeLetterbox(t, j, info); !bytes.Equal(slot, want) {
			k := firstDiff(slot, want)
			t.Fatalf("frame %d: byte %d is %d, the full-size decode's letterbox %d", i, k, slot[k], want[k])
		}
	}
	if len(b.u8[:b.per]) > 0 && !bytes.Equal(b.u8[:b.per], make([]byte, b.per)) {
		t.Fatal("slot 0, given to no frame, was written")
	}

	t.Setenv("FAKE_NVJPEG_FAIL", "1")
	jobs, b = run()
	for i, j := range jobs {
		if j.By != DecoderCPU || (j.Err == nil) == (i == 3) {
			t.Fatalf("failed batch, frame %d: by %q, error %v", i, j.By, j.Err)
		}
		if i != 3 && !bytes.Equal(b.u8[j.Slot*b.per:(j.Slot+1)*b.per], cpu.u8[j.Slot*b.per:(j.Slot+1)*b.per]) {
			t.Fatalf("failed batch, frame %d: not the CPU decoder's bytes", i)
		}
	}
	os.Unsetenv("FAKE_NVJPEG_FAIL")
}

// fullSizeLetterbox is what the GPU decoder's kernel makes of j's frame
// decoded whole: libjpeg's full-size decode letterboxed by the kernel's
// function on the CPU.
func fullSizeLetterbox(t *testing.T, j *DecodeJob, info ModelInfo) []byte {
	t.Helper()
	m, err := decodeJPEG(j.JPEG, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	src, _ := m.DataPtrUint8()
	out := make([]byte, 3*info.Width*info.Height)
	letterboxOnCPU(src, j.W, j.H, out, info.Width, info.Height, j.LB)
	return out
}

// gpuTakes passes baseline JPEGs whole and nothing else.
func TestGPUTakes(t *testing.T) {
	full := renderImage(t)
	defer full.Close()
	base, prog := frameJPEG(t, full, 320, 180, 90, false), frameJPEG(t, full, 320, 180, 90, true)
	for name, c := range map[string]struct {
		jpg  []byte
		want bool
	}{
		"baseline": {base, true}, "progressive": {prog, false}, "truncated": {base[:len(base)-100], false},
		"trailing bytes": {append(append([]byte(nil), base...), 0, 0), false}, "empty": {nil, false}, "not a JPEG": {[]byte("GIF89a......"), false},
	} {
		if got := gpuTakes(c.jpg); got != c.want {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}
