package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HandlerWith serves the camera API, and rest (the instance's metrics and
// health) at every other path.
func (s *Service) HandlerWith(rest http.Handler) http.Handler {
	mux, api := http.NewServeMux(), s.Handler()
	mux.Handle("/cameras", api)
	mux.Handle("/cameras/", api)
	mux.Handle("/", rest)
	return mux
}

// Handler serves the camera API (docs/cameras.md):
//
//	GET    /cameras        every registered camera with its state
//	GET    /cameras/{id}   one camera
//	POST   /cameras        add or replace a camera (a Camera as JSON)
//	DELETE /cameras/{id}   remove a camera
//
// Changes go through the registry topic, as the CLI's do, so any instance
// accepts them and the one holding the camera acts on them.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cameras", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Entries())
	})
	mux.HandleFunc("GET /cameras/{id}", func(w http.ResponseWriter, r *http.Request) {
		e, ok := s.entry(r.PathValue("id"))
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Errorf("camera %s is not registered", r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, e)
	})
	mux.HandleFunc("POST /cameras", func(w http.ResponseWriter, r *http.Request) {
		var c Camera
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("camera: %w", err))
			return
		}
		c.AddedUnixNs = 0 // the registry stamps it: a new registration
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		added, err := Add(ctx, s.conn, c)
		if err != nil {
			code := http.StatusBadGateway
			if errors.Is(err, ErrInvalidCamera) {
				code = http.StatusBadRequest
			}
			writeError(w, code, err)
			return
		}
		writeJSON(w, http.StatusCreated, added)
	})
	mux.HandleFunc("DELETE /cameras/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, ok := s.entry(id); !ok {
			writeError(w, http.StatusNotFound, fmt.Errorf("camera %s is not registered", id))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := Remove(ctx, s.conn, id); err != nil {
			writeError(w, http.StatusBadGateway, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"removed": id})
	})
	return mux
}

func (s *Service) entry(id string) (Entry, bool) {
	for _, e := range s.Entries() {
		if e.Camera.ID == id {
			return e, true
		}
	}
	return Entry{}, false
}

// Ready reports whether the view has caught up with the registry.
func (s *Service) Ready(context.Context) error {
	select {
	case <-s.ready:
		return nil
	default:
		return errors.New("camera registry not read yet")
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
