package inference

import (
	"testing"
)

// On a machine where the GPU decoder serves (nvJPEG from
// $CROPSTREAM_NVJPEG_DIR or the library path, a device; skipped elsewhere,
// as in CI): each slot is the letterbox of libjpeg's full-size decode of
// its frame within what two JPEG decoders' IDCTs differ by, the bars
// exactly grey, over batches of changing size; progressive frames go to the
// CPU. benchmarks/gpu/decode.sh runs it before measuring.
func TestGPUDecoderOnDevice(t *testing.T) {
	info := ModelInfo{Width: 640, Height: 640, UInt8: true}
	d, err := NewDecoder(DecoderConfig{Mode: DecodeGPU}, info, 2)
	if err != nil {
		t.Skip(err)
	}
	defer d.Close()
	full := renderImage(t)
	defer full.Close()
	sizes := [][2]int{{1280, 720}, {1920, 1080}, {640, 480}, {480, 640}, {1000, 1000}, {1280, 720}}
	var jpgs [][]byte
	for i, s := range sizes {
		jpgs = append(jpgs, frameJPEG(t, full, s[0], s[1], 90, i == 5))
	}
	for _, n := range []int{len(jpgs), 3, len(jpgs)} {
		b := NewBatch(info, n)
		var jobs []*DecodeJob
		for i := range n {
			jobs = append(jobs, &DecodeJob{JPEG: jpgs[i], W: sizes[i][0], H: sizes[i][1], Slot: n - 1 - i})
		}
		d.Decode(jobs, b)
		for i, j := range jobs {
			if j.Err != nil {
				t.Fatalf("batch of %d, frame %d: %v", n, i, j.Err)
			}
			if by := map[bool]string{true: DecoderCPU, false: DecoderNVJPEG}[i == 5]; j.By != by {
				t.Fatalf("batch of %d, frame %d: decoded by %s, want %s", n, i, j.By, by)
			}
			if j.By != DecoderNVJPEG {
				continue
			}
			want := fullSizeLetterbox(t, j, info)
			got := b.u8[j.Slot*b.per : (j.Slot+1)*b.per]
			nw, nh := j.LB.Size()
			px, py := int(j.LB.PadX), int(j.LB.PadY)
			var sum, worst int
			for k := range got {
				x, y := k/3%info.Width, k/3/info.Width
				if x < px || x >= px+nw || y < py || y >= py+nh {
					if got[k] != pad114 {
						t.Fatalf("batch of %d, frame %d: bar byte at (%d, %d) is %d", n, i, x, y, got[k])
					}
					continue
				}
				dv := max(int(got[k])-int(want[k]), int(want[k])-int(got[k]))
				sum += dv
				worst = max(worst, dv)
			}
			if mean := float64(sum) / float64(3*nw*nh); mean > 0.75 || worst > 12 {
				t.Fatalf("batch of %d, frame %d (%dx%d): differs from libjpeg's letterboxed decode by %.2f on average, %d at most", n, i, j.W, j.H, mean, worst)
			} else {
				t.Logf("batch of %d, frame %d (%dx%d): %.3f on average, %d at most from libjpeg's", n, i, j.W, j.H, mean, worst)
			}
		}
	}
}
