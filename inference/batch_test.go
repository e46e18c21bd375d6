package inference

import (
	"testing"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/simulator"
)

// A JPEG decoded into a float batch for the model as it is and into a uint8
// batch for the GPU-rewritten model gives the same boxes in frame pixels:
// callers need not know which input the engine takes.
func TestBatchDecodeAndRunAgree(t *testing.T) {
	plain, err := New(Config{ModelPath: shippedModel(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	gpu, err := New(Config{ModelPath: shippedModel(), Threads: 2, Rewrite: &Rewrite{SplitToSlice: true, UInt8Input: true, ReduceOutput: true, PoolReduce: true, StaticBatch: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer gpu.Close()
	sc, _ := simulator.Load("citrus")
	sim := simulator.New(sc)
	defer sim.Close()
	var jpgs [][]byte
	for range 3 {
		for range 6 {
			sim.Next()
		}
		f, _ := sim.Next()
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, *f.Image)
		if err != nil {
			t.Fatal(err)
		}
		jpgs = append(jpgs, append([]byte(nil), buf.GetBytes()...))
		buf.Close()
	}
	W, H := sc.Camera.Width, sc.Camera.Height
	var got [2][][]Detection
	for k, e := range []*Engine{plain, gpu} {
		pre := NewPreprocessor(e.Info().Width, e.Info().Height)
		b := NewBatch(e.Info(), len(jpgs))
		lbs := make([]Letterbox, len(jpgs))
		for i, j := range jpgs {
			if lbs[i], err = pre.Decode(j, W, H, b, i); err != nil {
				t.Fatal(err)
			}
		}
		b.Move(2, 0) // as the detect stage closes gaps: slot 0 now holds image 2
		lbs[0] = lbs[2]
		res, err := b.Run(e, 2)
		pre.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i, ds := range res {
			for n := range ds {
				ds[n] = lbs[i].ToFrame(ds[n])
			}
		}
		got[k] = res
	}
	for i := range got[0] {
		a, b := got[0][i], got[1][i]
		if len(a) < 5 || len(a) != len(b) {
			t.Fatalf("image %d: %d boxes from floats, %d from bytes", i, len(a), len(b))
		}
		for n := range a {
			if a[n].Class != b[n].Class || abs32(a[n].Score-b[n].Score) > 1e-4 || abs32(a[n].X1-b[n].X1) > 0.02 || abs32(a[n].Y2-b[n].Y2) > 0.02 {
				t.Fatalf("image %d box %d: %+v vs %+v", i, n, a[n], b[n])
			}
		}
	}
}
