package edge

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
)

// net/http recovers a handler's panic by closing the connection without an
// answer: the client cannot tell a bug from a network fault and resends
// into the same bug, with nothing in the metrics. The pipeline answers its
// own steps' panics (gateway_step_panics_total); recoverHTTP is the net
// under the rest of a request (authentication, the REST mux, answer
// writing), outermost inside the response counter, so that the 500 it
// answers is counted in gateway_http_responses_total. Such a panic may
// come after the record was stored, so the answer does not say it was
// not. A response already begun cannot be taken back: then the connection
// is aborted as net/http would, after the same log line. As for gRPC, the
// panic value may quote the request, so only its type is logged, except
// for runtime errors.

// internalOutcome is the body of the 500 answer, an OperationOutcome like
// every other answer of the edge (401, 403, 400 for a path).
var internalOutcome = []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception",` +
	`"diagnostics":"internal error in the gateway (a bug, logged); whether the request was stored is not known, and resending it may fail the same way"}]}`)

func recoverHTTP(log *slog.Logger, listener string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &startedWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v) // a handler's deliberate abort, not a bug
			}
			log.Error("http handler panicked: a bug, the request is answered 500", "listener", listener,
				"method", r.Method, "answered", !sw.started, "panic", panicText(v), "stack", stack())
			if sw.started {
				panic(http.ErrAbortHandler)
			}
			hd := w.Header()
			for k := range hd {
				delete(hd, k) // whatever the handler had set is not this answer's
			}
			hd.Set("Content-Type", "application/fhir+json")
			hd.Set("Content-Length", strconv.Itoa(len(internalOutcome)))
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write(internalOutcome)
		}()
		h.ServeHTTP(sw, r)
	})
}

// startedWriter remembers whether the response has begun. Unwrap lets
// http.ResponseController reach the connection's deadlines and flushes.
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startedWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols { // 1xx answers are interim
		w.started = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *startedWriter) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

func (w *startedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush through when the writer supports it; it begins the
// response.
func (w *startedWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		w.started = true
		f.Flush()
	}
}
