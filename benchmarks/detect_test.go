package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/broker/brokertest"
	"github.com/cropstream/cropstream/inference"
	"github.com/cropstream/cropstream/processors/detect"
	"github.com/cropstream/cropstream/topology"
)

func shippedModel() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", inference.DefaultModel)
}

// simJPEGs renders n frames of the default scenario as JPEG (quality 90).
func simJPEGs(b *testing.B, n int) [][]byte {
	jpgs, err := RenderJPEGs("default", n)
	if err != nil || len(jpgs) != n {
		b.Fatalf("%d of %d frames rendered: %v", len(jpgs), n, err)
	}
	return jpgs
}

// decodeBench is what a decode benchmark works on: 16 rendered frames and
// a preprocessor for a w x h input, closed when the benchmark ends.
func decodeBench(b *testing.B, w, h int) ([][]byte, *inference.Preprocessor) {
	inference.TuneMalloc()
	jpgs := simJPEGs(b, 16)
	pre := inference.NewPreprocessor(w, h)
	b.Cleanup(pre.Close)
	return jpgs, pre
}

// BenchmarkDecodeLetterbox: JPEG decode (1280x720, at half size in the DCT
// domain) + letterbox to 512x288 + float NCHW, per core:
//
//	taskset -c 0 go test -run xxx -bench DecodeLetterbox -cpu 1 ./benchmarks
func BenchmarkDecodeLetterbox(b *testing.B) {
	jpgs, pre := decodeBench(b, 512, 288)
	dst := make([]float32, 3*512*288)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, _, err := inference.DecodeForInput(jpgs[i%len(jpgs)], 1280, 720, 512, 288)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pre.Into(m, dst); err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkDecodeLetterboxUInt8: the GPU path's preprocessing, a 720p frame
// decoded at half scale into a 640x640 uint8 input (a YOLOv8n-sized model
// with the UInt8Input rewrite), per core.
func BenchmarkDecodeLetterboxUInt8(b *testing.B) {
	jpgs, pre := decodeBench(b, 640, 640)
	dst := make([]byte, 3*640*640)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pre.DecodeUInt8(jpgs[i%len(jpgs)], 1280, 720, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkInference: the shipped model on preprocessed frames, with all
// cores' threads in one session and with one thread (what each of the detect
// stage's lanes runs on a CPU).
func BenchmarkInference(b *testing.B) {
	pre := inference.NewPreprocessor(512, 288)
	defer pre.Close()
	jpgs := simJPEGs(b, 32)
	per := 3 * 512 * 288
	input := make([]float32, 32*per)
	for i, j := range jpgs {
		m, _ := gocv.IMDecode(j, gocv.IMReadColor)
		pre.Into(m, input[i*per:(i+1)*per])
		m.Close()
	}
	for _, threads := range []int{runtime.NumCPU(), 1} {
		e, err := inference.New(inference.Config{ModelPath: shippedModel(), Threads: threads})
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("threads=%d/batch=%d", threads, batch), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := e.Run(input[:batch*per], batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "frames/s")
			})
		}
		e.Close()
	}
}

// BenchmarkDetectStage: frames already in the embedded broker go through the
// whole detect stage (consume, header check, decode, letterbox, batched
// inference, produce, commit). MB/s counts JPEG bytes. sessions=1 is one
// ONNX Runtime session using every core; sessions=N is N one-thread
// sessions, each fed its own share of a poll (the stage's lanes).
func BenchmarkDetectStage(b *testing.B) {
	for _, sessions := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) { benchDetectStage(b, sessions) })
	}
}

func benchDetectStage(b *testing.B, sessions int) {
	conn, top := brokertest.Open(b, topology.Config{})
	jpgs := simJPEGs(b, 64)
	eng, err := inference.New(inference.Config{ModelPath: shippedModel(), Sessions: sessions})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	b.ResetTimer()
	r, err := DetectStage(context.Background(), conn, top, eng, jpgs, 4, max(b.N, 4))
	if err != nil {
		b.Fatal(err)
	}
	reportDetect(b, r)
}

// reportDetect reports what DetectStage measured.
func reportDetect(b *testing.B, r DetectResult) {
	b.ReportMetric(r.FPS(), "frames/s")
	b.ReportMetric(r.MBps(), "MB/s")
	b.ReportMetric(r.FramesPerBatch, "frames/batch")
	b.ReportMetric(r.DecodeMs, "decode_ms/frame")
	b.ReportMetric(r.InferMs, "infer_ms/frame")
}

// BenchmarkDetectStageDecoder: the detect stage's whole path (as
// BenchmarkDetectStage) with the GPU graph (uint8 input, pooled output,
// batch fixed) and JPEG decoding on the CPU or on the GPU (nvJPEG), on
// 1280x720 simulator frames. The setup comes from the environment, for the
// GPU machine (benchmarks/gpu/decode.sh): $CROPSTREAM_BENCH_MODEL (default
// the shipped model), $CROPSTREAM_BENCH_PROVIDER (cpu or cuda, default cpu),
// $CROPSTREAM_BENCH_BATCH (default 16), $CROPSTREAM_BENCH_SESSIONS (default
// 3 on cuda, 1 on cpu), $CROPSTREAM_NVJPEG_DIR. decoder=gpu is skipped where
// the GPU decoder cannot serve.
//
//	go test -run xxx -bench DetectStageDecoder -benchtime 512x ./benchmarks
func BenchmarkDetectStageDecoder(b *testing.B) {
	env := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	provider := env("CROPSTREAM_BENCH_PROVIDER", "cpu")
	batch, err := strconv.Atoi(env("CROPSTREAM_BENCH_BATCH", "16"))
	if err != nil {
		b.Fatal(err)
	}
	sessions, err := strconv.Atoi(env("CROPSTREAM_BENCH_SESSIONS", map[bool]string{true: strconv.Itoa(inference.GPUSessions), false: "1"}[provider == "cuda"]))
	if err != nil {
		b.Fatal(err)
	}
	eng, err := inference.New(inference.Config{ModelPath: env("CROPSTREAM_BENCH_MODEL", shippedModel()), Provider: provider, Sessions: sessions,
		Rewrite: &inference.Rewrite{SplitToSlice: true, UInt8Input: true, ReduceOutput: true, PoolReduce: true, StaticBatch: batch}})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	jpgs, err := RenderJPEGs("default", 48)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{inference.DecodeCPU, inference.DecodeGPU} {
		b.Run("decoder="+mode, func(b *testing.B) {
			dec := inference.DecoderConfig{Mode: mode}
			if mode == inference.DecodeGPU {
				d, err := inference.NewDecoder(dec, eng.Info(), 1)
				if err != nil {
					b.Skip(err)
				}
				d.Close()
			}
			conn, top := brokertest.Open(b, topology.Config{})
			b.ResetTimer()
			r, err := DetectStageWith(context.Background(), conn, top, detect.Config{Detector: eng, MaxBatch: batch, Decode: dec}, jpgs, 8, max(b.N, 4*batch))
			if err != nil {
				b.Fatal(err)
			}
			reportDetect(b, r)
			b.ReportMetric(r.GPUDecoded, "gpu_decoded")
		})
	}
}
