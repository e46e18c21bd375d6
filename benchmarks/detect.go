package benchmarks

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/simulator"
)

// DetectBench is what MeasureDetect finds: decode alone, inference alone and
// both pipelined, in frames/s, with the setup measured.
type DetectBench struct {
	Provider    string  `json:"provider"`
	Rewrite     string  `json:"rewrite"`
	Model       string  `json:"model"`
	Input       string  `json:"input"`
	Layout      string  `json:"output_layout"`
	Batch       int     `json:"batch"`
	Sessions    int     `json:"sessions"`
	Workers     int     `json:"workers"`
	Cores       int     `json:"cores"`
	Frames      int     `json:"frames"`
	JPEGBytes   float64 `json:"mean_jpeg_bytes"`
	DecodeFPS   float64 `json:"decode_fps"`
	InferFPS    float64 `json:"infer_fps"`
	PipelineFPS float64 `json:"pipeline_fps"`
	PipelineMBs float64 `json:"pipeline_mb_s"`
	BoxesPerFr  float64 `json:"boxes_per_frame"`
	TargetRatio float64 `json:"ratio_to_5tb_day"`
}

// RenderJPEGs renders up to n frames of scenario at 1280x720 as JPEG q90.
func RenderJPEGs(scenario string, n int) ([][]byte, error) {
	sc, err := simulator.Load(scenario)
	if err != nil {
		return nil, err
	}
	sc.Camera.Width, sc.Camera.Height = 1280, 720
	sim := simulator.New(sc)
	defer sim.Close()
	var jpegs [][]byte
	for len(jpegs) < n {
		f, err := sim.Next()
		if err != nil {
			break
		}
		jpg, err := f.JPEG(90)
		if err != nil {
			return nil, err
		}
		jpegs = append(jpegs, jpg)
	}
	if len(jpegs) == 0 {
		return nil, fmt.Errorf("bench: scenario rendered no frames")
	}
	return jpegs, nil
}

// MeasureDetect measures eng on frames of scenario: (1) decode + letterbox
// on workers goroutines, (2) inference alone on ready batches, one caller per
// session, (3) both pipelined, workers decoding into batch buffers while the
// sessions run earlier batches.
func MeasureDetect(eng *inference.Engine, scenario string, batch, frames, workers int) (*DetectBench, error) {
	inference.TuneMalloc()
	info := eng.Info()
	jpegs, err := RenderJPEGs(scenario, 48)
	if err != nil {
		return nil, err
	}
	var total float64
	for _, j := range jpegs {
		total += float64(len(j))
	}
	// prep decodes frame i into slot j of b, as the detect stage does.
	preps := make(chan *inference.Preprocessor, workers)
	for range workers {
		preps <- inference.NewPreprocessor(info.Width, info.Height)
	}
	defer func() {
		for range workers {
			(<-preps).Close()
		}
	}()
	prep := func(i int, b *inference.Batch, j int) error {
		p := <-preps
		defer func() { preps <- p }()
		_, err := p.Decode(jpegs[i%len(jpegs)], 1280, 720, b, j)
		return err
	}
	fill := func(b *inference.Batch, base int) error {
		var wg sync.WaitGroup
		var ferr atomic.Value
		next := atomic.Int64{}
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					j := int(next.Add(1) - 1)
					if j >= batch {
						return
					}
					if err := prep(base+j, b, j); err != nil {
						ferr.Store(err)
					}
				}
			}()
		}
		wg.Wait()
		if e, ok := ferr.Load().(error); ok {
			return e
		}
		return nil
	}
	infer := func(b *inference.Batch) (int, error) {
		out, err := b.Run(eng, batch)
		n := 0
		for _, d := range out {
			n += len(d)
		}
		return n, err
	}
	res := &DetectBench{Model: eng.Name(), Input: fmt.Sprintf("%dx%d uint8=%v", info.Width, info.Height, info.UInt8),
		Layout: info.Layout.String(), Batch: batch, Sessions: eng.Sessions(), Workers: workers, Cores: runtime.NumCPU(), JPEGBytes: total / float64(len(jpegs))}
	batches := max(frames/batch, 2)
	res.Frames = batches * batch

	// (1) decode + letterbox alone.
	b := inference.NewBatch(info, batch)
	start := time.Now()
	for k := range batches {
		if err := fill(b, k*batch); err != nil {
			return nil, err
		}
	}
	res.DecodeFPS = float64(res.Frames) / time.Since(start).Seconds()

	// (2) inference alone, after a warm-up run in each session (cuDNN picks
	// its algorithms on a session's first batch), one caller per session: on
	// a GPU each session has its own stream, so one batch's copies and host
	// work overlap another's kernels.
	lanes := eng.Sessions()
	each := func(n int, f func() error) error {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = f()
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	if err := each(lanes, func() error { _, err := infer(b); return err }); err != nil {
		return nil, err
	}
	var boxes atomic.Int64
	left := atomic.Int64{}
	left.Store(int64(batches))
	start = time.Now()
	err = each(lanes, func() error {
		for left.Add(-1) >= 0 {
			n, err := infer(b)
			if err != nil {
				return err
			}
			boxes.Add(int64(n))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.InferFPS = float64(res.Frames) / time.Since(start).Seconds()
	res.BoxesPerFr = float64(boxes.Load()) / float64(res.Frames)

	// (3) pipelined: batches decoding while earlier ones infer.
	ready, free := make(chan *inference.Batch, lanes+1), make(chan *inference.Batch, lanes+2)
	for range lanes + 2 {
		free <- inference.NewBatch(info, batch)
	}
	errc := make(chan error, 1)
	start = time.Now()
	go func() {
		defer close(ready)
		for k := range batches {
			b := <-free
			if err := fill(b, k*batch); err != nil {
				errc <- err
				return
			}
			ready <- b
		}
	}()
	err = each(lanes, func() error {
		var first error
		for b := range ready { // drain on error so the producer ends
			if first == nil {
				_, first = infer(b)
			}
			free <- b
		}
		return first
	})
	if err != nil {
		return nil, err
	}
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	el := time.Since(start).Seconds()
	res.PipelineFPS = float64(res.Frames) / el
	res.PipelineMBs = res.PipelineFPS * res.JPEGBytes / 1e6
	res.TargetRatio = res.PipelineFPS / TargetFPS
	return res, nil
}
