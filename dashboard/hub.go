package dashboard

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// hub fans the latest state of each panel out to the page's event streams.
// It keeps only the latest value per key and a dirty set per subscriber, so
// a browser that cannot keep up gets the newest state of every panel when it
// next reads, never a backlog, and publishers never block on it.
type hub struct {
	mu     sync.Mutex
	latest map[string]event
	subs   map[*subscriber]struct{}
	// viewers changes on every connect and disconnect (the feed follows it).
	viewers chan int
}

type event struct {
	kind string // SSE event name
	data []byte // JSON
}

type subscriber struct {
	dirty  map[string]bool
	notify chan struct{}
}

func newHub() *hub {
	return &hub{latest: map[string]event{}, subs: map[*subscriber]struct{}{}, viewers: make(chan int, 1)}
}

// publish sets key's latest state.
func (h *hub) publish(key, kind string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latest[key] = event{kind, data}
	for s := range h.subs {
		s.dirty[key] = true
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *hub) signalViewers() {
	n := len(h.subs)
	select {
	case <-h.viewers:
	default:
	}
	h.viewers <- n
}

func (h *hub) subscribe() *subscriber {
	s := &subscriber{dirty: map[string]bool{}, notify: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.latest {
		s.dirty[k] = true
	}
	s.notify <- struct{}{}
	h.subs[s] = struct{}{}
	h.signalViewers()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	h.signalViewers()
}

// take returns the subscriber's dirty events, in key order, and clears them.
func (h *hub) take(s *subscriber) []event {
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := make([]string, 0, len(s.dirty))
	for k := range s.dirty {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	evs := make([]event, 0, len(keys))
	for _, k := range keys {
		evs = append(evs, h.latest[k])
		delete(s.dirty, k)
	}
	return evs
}

// serveEvents is the page's event stream. stop ends every stream (the
// server is shutting down: http.Server.Shutdown does not wait for them).
func (h *hub) serveEvents(stop <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fl, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		s := h.subscribe()
		defer h.unsubscribe(s)
		// A comment now and then keeps proxies from closing an idle stream.
		keep := time.NewTicker(15 * time.Second)
		defer keep.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-stop:
				return
			case <-keep.C:
				if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
					return
				}
				fl.Flush()
			case <-s.notify:
				for _, ev := range h.take(s) {
					if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.kind, ev.data); err != nil {
						return
					}
				}
				fl.Flush()
			}
		}
	}
}
