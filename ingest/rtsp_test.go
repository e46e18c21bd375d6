package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/cropstream/cropstream/ingest/rtsptest"
)

// An RTSP camera is read over the transport asked for: frames arrive, live,
// stamped with the wall clock, and the server saw that transport.
func TestRTSPTransports(t *testing.T) {
	for _, tr := range []string{TransportTCP, TransportUDP} {
		t.Run(tr, func(t *testing.T) {
			srv, err := rtsptest.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			v, err := OpenStream(ctx, srv.URL(), tr)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if !v.Info().Live {
				t.Fatal("an RTSP stream is not live")
			}
			for i := 0; i < 15; i++ {
				c, err := v.Next(ctx)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if c.Width != 160 || c.Height != 120 || time.Since(c.CaptureTime) > 5*time.Second {
					t.Fatalf("frame %d: %dx%d at %s", i, c.Width, c.Height, c.CaptureTime)
				}
			}
			if got := srv.Transports(); len(got) != 1 || got[0] != tr {
				t.Fatalf("server saw transports %v, want [%s]", got, tr)
			}
		})
	}
	if _, err := OpenStream(context.Background(), "rtsp://127.0.0.1:9/x", "sctp"); err == nil {
		t.Fatal("transport sctp accepted")
	}
}
