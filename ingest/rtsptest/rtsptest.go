// Package rtsptest serves, for tests, an RTSP camera on loopback: a short
// MPEG-4 clip in MPEG-TS (RTP payload type 33), looped in real time, over
// TCP (interleaved) or UDP as the client asks. Enough of RTSP for FFmpeg's
// client (OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN).
package rtsptest

import (
	"bufio"
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clip is 4 s of 160x120 at 10 frames/s (40 frames), made with
// ffmpeg -f lavfi -i testsrc=size=160x120:rate=10 -t 4 -c:v mpeg4 -g 5 -f mpegts.
//
//go:embed cam.ts
var clip []byte

const clipDuration = 4 * time.Second

// Server is one RTSP camera.
type Server struct {
	l    net.Listener
	wg   sync.WaitGroup
	done chan struct{}
	once sync.Once

	mu         sync.Mutex
	conns      map[net.Conn]bool
	transports []string
}

// Start listens on 127.0.0.1 and serves until Stop.
func Start() (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("rtsptest: listen: %w", err)
	}
	s := &Server{l: l, done: make(chan struct{}), conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.session(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
		}
	}()
	return s, nil
}

// URL is the stream's address.
func (s *Server) URL() string { return "rtsp://" + s.l.Addr().String() + "/cam" }

// Transports lists the transport of every SETUP served: "tcp" or "udp".
func (s *Server) Transports() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.transports...)
}

// Stop closes the listener and every session and waits for them. Later
// calls do nothing.
func (s *Server) Stop() {
	s.once.Do(s.stop)
}

func (s *Server) stop() {
	close(s.done)
	s.l.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) session(c net.Conn) {
	br := bufio.NewReader(c)
	var (
		wmu     sync.Mutex // responses and interleaved packets share c
		udp     net.Conn
		tcp     bool
		playing chan struct{}
	)
	defer func() {
		if playing != nil {
			close(playing)
		}
		if udp != nil {
			udp.Close()
		}
	}()
	reply := func(cseq, extra, body string) {
		wmu.Lock()
		defer wmu.Unlock()
		fmt.Fprintf(c, "RTSP/1.0 200 OK\r\nCSeq: %s\r\n%s", cseq, extra)
		if body != "" {
			fmt.Fprintf(c, "Content-Length: %d\r\n", len(body))
		}
		fmt.Fprintf(c, "\r\n%s", body)
	}
	for {
		b, err := br.Peek(1)
		if err != nil {
			return
		}
		if b[0] == '$' { // the client's interleaved RTCP
			var h [4]byte
			if _, err := io.ReadFull(br, h[:]); err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, br, int64(binary.BigEndian.Uint16(h[2:]))); err != nil {
				return
			}
			continue
		}
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return
		}
		hdr, err := textproto.NewReader(br).ReadMIMEHeader()
		if err != nil {
			return
		}
		if n, _ := strconv.Atoi(hdr.Get("Content-Length")); n > 0 {
			io.CopyN(io.Discard, br, int64(n))
		}
		cseq := hdr.Get("CSeq")
		switch f[0] {
		case "OPTIONS":
			reply(cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN\r\n", "")
		case "DESCRIBE":
			sdp := "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
				"m=video 0 RTP/AVP 33\r\na=rtpmap:33 MP2T/90000\r\na=control:track0\r\n"
			reply(cseq, "Content-Type: application/sdp\r\nContent-Base: "+s.URL()+"/\r\n", sdp)
		case "SETUP":
			t := hdr.Get("Transport")
			if strings.Contains(t, "TCP") {
				tcp = true
				s.record("tcp")
				reply(cseq, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 1;timeout=60\r\n", "")
				continue
			}
			var a, b int
			for _, p := range strings.Split(t, ";") {
				if v, ok := strings.CutPrefix(p, "client_port="); ok {
					fmt.Sscanf(v, "%d-%d", &a, &b)
				}
			}
			if udp, err = net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", a)); err != nil {
				return
			}
			s.record("udp")
			sp := udp.LocalAddr().(*net.UDPAddr).Port
			reply(cseq, fmt.Sprintf("Transport: RTP/AVP;unicast;client_port=%d-%d;server_port=%d-%d\r\nSession: 1;timeout=60\r\n", a, b, sp, sp+1), "")
		case "PLAY":
			reply(cseq, "Session: 1\r\nRange: npt=0.000-\r\n", "")
			if playing == nil {
				playing = make(chan struct{})
				send := func(pkt []byte) error {
					if tcp {
						wmu.Lock()
						defer wmu.Unlock()
						var h [4]byte
						h[0], h[1] = '$', 0
						binary.BigEndian.PutUint16(h[2:], uint16(len(pkt)))
						_, err := c.Write(append(h[:], pkt...))
						return err
					}
					_, err := udp.Write(pkt)
					return err
				}
				s.wg.Add(1)
				go func(stop chan struct{}) {
					defer s.wg.Done()
					s.stream(stop, send)
				}(playing)
			}
		case "TEARDOWN":
			reply(cseq, "Session: 1\r\n", "")
			return
		default: // GET_PARAMETER (keep-alive) and the rest
			reply(cseq, "Session: 1\r\n", "")
		}
	}
}

func (s *Server) record(t string) {
	s.mu.Lock()
	s.transports = append(s.transports, t)
	s.mu.Unlock()
}

// stream sends the clip in RTP packets of 7 TS packets, paced to real time,
// looping, until stop or the server's end.
func (s *Server) stream(stop chan struct{}, send func([]byte) error) {
	const chunk = 7 * 188
	n := (len(clip) + chunk - 1) / chunk
	per := clipDuration / time.Duration(n)
	start := time.Now()
	var seq uint16
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-s.done:
			return
		case <-time.After(time.Until(start.Add(time.Duration(i) * per))):
		}
		off := (i % n) * chunk
		payload := clip[off:min(off+chunk, len(clip))]
		pkt := make([]byte, 12, 12+len(payload))
		pkt[0], pkt[1] = 0x80, 33
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(time.Since(start)*90000/time.Second))
		binary.BigEndian.PutUint32(pkt[8:], 0x43524f50)
		seq++
		if send(append(pkt, payload...)) != nil {
			return
		}
	}
}
