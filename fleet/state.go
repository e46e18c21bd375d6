package fleet

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Reader statuses, as reported in State.Status.
const (
	// StatusConnecting: opening the source for the first time.
	StatusConnecting = "connecting"
	// StatusConnected: frames are arriving.
	StatusConnected = "connected"
	// StatusReconnecting: the source failed; the reader retries with backoff
	// (ReconnectingSince says since when, LastError why).
	StatusReconnecting = "reconnecting"
	// StatusEnded: a video file was read to its end; it is not read again.
	StatusEnded = "ended"
	// StatusFailed: the camera's record cannot be read as configured (a bad
	// setting, not a bad link); nothing is retried until it changes.
	StatusFailed = "failed"
	// StatusStopped: its instance gave the camera up (shut down or
	// rebalanced); another instance takes it over.
	StatusStopped = "stopped"
)

// Statuses derived when listing, never reported by a reader.
const (
	// StatusPending: registered, but no reader has reported on it yet.
	StatusPending = "pending"
	// StatusStale: the last report is older than StaleAfter: its instance
	// stopped reporting (died) and no other has taken the camera over yet.
	StatusStale = "stale"
)

// StaleAfter is how old a report may be before the camera is listed stale.
const StaleAfter = 10 * time.Second

// State is what a camera's reader reports, keyed by camera in the
// camera-state topic (JSON, like the registry).
type State struct {
	Camera string `json:"camera"`
	// Generation is the registry record's AddedUnixNs this state is about.
	Generation int64  `json:"generation"`
	Instance   string `json:"instance"`
	Status     string `json:"status"`
	// ConnectedSince is when the current connection delivered its first
	// frame (zero when not connected).
	ConnectedSince time.Time `json:"connected_since,omitzero"`
	// ReconnectingSince is when the source last failed after frames or a
	// first attempt (zero while connected).
	ReconnectingSince time.Time `json:"reconnecting_since,omitzero"`
	// FPS is the frames per second read over the last few seconds.
	FPS float64 `json:"fps"`
	// Frames, DeadLetters and Reconnects count since this instance took the
	// camera.
	Frames      int64 `json:"frames"`
	DeadLetters int64 `json:"dead_letters"`
	Reconnects  int64 `json:"reconnects"`
	// LastFrame is the capture time of the last frame read.
	LastFrame   time.Time `json:"last_frame,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Position is where a growing folder was read to (the last file name):
	// an instance taking the camera over resumes after it.
	Position string    `json:"position,omitempty"`
	Updated  time.Time `json:"updated"`
}

// EncodeState is the state record value.
func EncodeState(s State) ([]byte, error) { return encode(s, "state of camera "+s.Camera) }

// encode is v as a record value (JSON); what names it in the error.
func encode(v any, what string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	return b, nil
}

// DecodeState reads a state record value.
func DecodeState(b []byte) (State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("decode camera state: %w", err)
	}
	return s, nil
}

// Entry is one camera as listed: its record and its reader's state.
type Entry struct {
	Camera Camera `json:"camera"`
	// Status is the state's, or pending or stale (see the constants).
	Status string `json:"status"`
	State  *State `json:"state,omitempty"`
}

// View is the registry and the states, as read from their topics.
type View struct {
	Cameras map[string]Camera
	States  map[string]State
}

// NewView is an empty view.
func NewView() *View {
	return &View{Cameras: map[string]Camera{}, States: map[string]State{}}
}

// ApplyCamera applies a registry record (nil value: removed).
func (v *View) ApplyCamera(key, value []byte) error {
	return applyRecord(v.Cameras, key, value, DecodeCamera, func(c Camera) string { return c.ID })
}

// ApplyState applies a state record (nil value: removed).
func (v *View) ApplyState(key, value []byte) error {
	return applyRecord(v.States, key, value, DecodeState, func(State) string { return string(key) })
}

// applyRecord puts a record's decoded value in m under id(value), or deletes key
// from m on a tombstone.
func applyRecord[T any](m map[string]T, key, value []byte, decode func([]byte) (T, error), id func(T) string) error {
	if value == nil {
		delete(m, string(key))
		return nil
	}
	x, err := decode(value)
	if err != nil {
		return err
	}
	m[id(x)] = x
	return nil
}

// Entries lists the registered cameras by id with their status at now.
func (v *View) Entries(now time.Time) []Entry {
	out := make([]Entry, 0, len(v.Cameras))
	for _, c := range v.Cameras {
		e := Entry{Camera: c, Status: StatusPending}
		if s, ok := v.States[c.ID]; ok && s.Generation == c.AddedUnixNs {
			e.State = &s
			e.Status = s.Status
			if now.Sub(s.Updated) > StaleAfter && s.Status != StatusEnded && s.Status != StatusFailed {
				e.Status = StatusStale
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Camera.ID < out[j].Camera.ID })
	return out
}
