package benchmarks

import (
	"errors"
	"io"
	"testing"

	"gocv.io/x/gocv"

	"github.com/cropstream/cropstream/simulator"
)

// BenchmarkSimulatorRender: frames/s of the default scenario (1280x720),
// row rendering included, as ingest --scenario sees it. Run it on one core:
//
//	taskset -c 0 go test -run xxx -bench Simulator -benchtime 1000x -cpu 1 ./benchmarks
func BenchmarkSimulatorRender(b *testing.B) {
	benchSim(b, false)
}

// BenchmarkSimulatorRenderJPEG adds the JPEG encode (quality 90) that
// ingest does for every rendered frame.
func BenchmarkSimulatorRenderJPEG(b *testing.B) {
	benchSim(b, true)
}

func benchSim(b *testing.B, encode bool) {
	sc, err := simulator.Load("default")
	if err != nil {
		b.Fatal(err)
	}
	s := simulator.New(sc)
	defer func() { s.Close() }()
	var bytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := s.Next()
		if errors.Is(err, io.EOF) {
			s.Close()
			s = simulator.New(sc)
			f, err = s.Next()
		}
		if err != nil {
			b.Fatal(err)
		}
		if encode {
			buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, *f.Image, []int{gocv.IMWriteJpegQuality, 90})
			if err != nil {
				b.Fatal(err)
			}
			bytes += int64(buf.Len())
			buf.Close()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	if encode {
		b.ReportMetric(float64(bytes)/float64(b.N)/1000, "KB/frame")
	}
}
