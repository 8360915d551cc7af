package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// Handler serves the Kafka Connect-style REST API over r:
//
//	GET  /connectors                 ["name", ...]
//	GET  /connectors/{name}          {"name","type","config","tasks"}
//	GET  /connectors/{name}/status   {"name","connector":{"state","worker_id"},"tasks":[...],"type"}
//	PUT  /connectors/{name}/pause    202 Accepted
//	PUT  /connectors/{name}/resume   202 Accepted
//	POST /connectors/{name}/restart  204 No Content (clears FAILED, resumes)
//
// An unknown name is answered 404 {"error_code":404,"message":...}, as
// Kafka Connect does; a pause, resume or restart that could not be
// recorded for the other instances (ErrNotShared) is answered 503 and
// changes nothing.
func (r *Registry) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /connectors", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, r.Names())
	})
	m.HandleFunc("GET /connectors/{name}", func(w http.ResponseWriter, req *http.Request) {
		info, err := r.Info(req.PathValue("name"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	m.HandleFunc("GET /connectors/{name}/status", func(w http.ResponseWriter, req *http.Request) {
		st, err := r.Status(req.PathValue("name"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	action := func(f func(context.Context, string) error, code int) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			if err := f(req.Context(), req.PathValue("name")); err != nil {
				writeError(w, err)
				return
			}
			w.WriteHeader(code)
		}
	}
	m.HandleFunc("PUT /connectors/{name}/pause", action(r.Pause, http.StatusAccepted))
	m.HandleFunc("PUT /connectors/{name}/resume", action(r.Resume, http.StatusAccepted))
	m.HandleFunc("POST /connectors/{name}/restart", action(r.Restart, http.StatusNoContent))
	return m
}

// ErrorBody is Kafka Connect's error answer.
type ErrorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrNotShared):
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, ErrorBody{ErrorCode: code, Message: err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
