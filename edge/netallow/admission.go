package netallow

import (
	"log/slog"
	"net"
	"sync/atomic"
)

// Reason is why a connection (or a gRPC stream) was refused: the `reason`
// label of gateway_connections_rejected_total, whatever the door.
type Reason string

// The refusal reasons. Admit decides the first three; a server reports the
// others through Reject.
const (
	RejectNotAllowed     Reason = "not_allowed"      // the source is not in the allow-list
	RejectPerSourceLimit Reason = "per_source_limit" // the source holds its maximum of connections
	RejectMaxConns       Reason = "max_conns"        // the listener holds its maximum of connections
	RejectTLSHandshake   Reason = "tls_handshake"    // the TLS handshake failed (MLLP, which handshakes itself)
	RejectShutdown       Reason = "shutdown"         // the server was shutting down
	RejectMaxStreams     Reason = "max_streams"      // a gRPC stream past the listener's bound
)

// DefaultRefusalMessage is the log message of a refused connection when
// AdmissionOptions.LogMessage is empty.
const DefaultRefusalMessage = "connection rejected"

// AdmissionOptions configure the Admission of one listener. Zero values
// mean "no restriction" and "not logged".
type AdmissionOptions struct {
	Allow             *List // sources allowed to connect; nil: any
	MaxConns          int   // open connections of the listener; <= 0: unlimited
	MaxConnsPerSource int   // open connections per source IP; <= 0: unlimited
	// OnReject is told of every refusal, Admit's and Reject's, before the
	// connection is closed (so that whoever sees the close finds it
	// counted). It runs on the accepting goroutine and must not block.
	OnReject func(addr net.Addr, reason Reason)
	// Log receives Admit's refusals at Warn, sampled per source (the first
	// five per source and minute, then a count: see RefusalLog), with the
	// remote address, the reason and both limits. nil: not logged.
	Log *slog.Logger
	// LogMessage is the message of those lines; default
	// DefaultRefusalMessage.
	LogMessage string
}

// Admission is the one admission decision of every door's listener: the
// source allow-list, then the per-source limit, then the listener's limit,
// in that order, before any byte is read or any TLS work is done. It holds
// the open-connection counts; a connection admitted holds its slots until
// its release is called. Safe for concurrent use; never blocks beyond a
// short lock. A nil *Admission admits every connection and counts nothing.
type Admission struct {
	o         AdmissionOptions
	perSource *PerSource   // nil: no per-source limit
	open      atomic.Int64 // connections admitted and not yet released
	refusals  *RefusalLog  // nil when o.Log is nil
}

// NewAdmission returns the admission of one listener.
func NewAdmission(o AdmissionOptions) *Admission {
	a := &Admission{o: o}
	if o.MaxConnsPerSource > 0 {
		a.perSource = NewPerSource(o.MaxConnsPerSource)
	}
	if o.Log != nil {
		a.refusals = NewRefusalLog(o.Log, RefusalLogOptions{})
		if a.o.LogMessage == "" {
			a.o.LogMessage = DefaultRefusalMessage
		}
	}
	return a
}

// Admit takes the slots for a connection from addr. When the connection is
// refused, ok is false, nothing is held, and the refusal has been reported
// (OnReject) and logged; the caller closes the connection. release gives
// the slots back; it may be called any number of times and frees them
// once.
func (a *Admission) Admit(addr net.Addr) (release func(), ok bool) {
	if a == nil {
		return func() {}, true
	}
	release, reason := a.take(addr)
	if reason == "" {
		return release, true
	}
	a.report(addr, reason)
	if a.refusals != nil {
		a.refusals.Warn(addr, a.o.LogMessage, slog.String("reason", string(reason)),
			slog.Int("max_conns", a.o.MaxConns), slog.Int("max_conns_per_source", a.o.MaxConnsPerSource))
	}
	return nil, false
}

// Reject reports a refusal the server decided itself (RejectTLSHandshake,
// RejectShutdown) through OnReject; the server logs it as it sees fit.
func (a *Admission) Reject(addr net.Addr, reason Reason) {
	if a != nil {
		a.report(addr, reason)
	}
}

// Open is the number of connections admitted and not yet released.
func (a *Admission) Open() int {
	if a == nil {
		return 0
	}
	return int(a.open.Load())
}

// Sources is the number of source IPs holding a connection (0 without a
// per-source limit, which is not tracked).
func (a *Admission) Sources() int {
	if a == nil {
		return 0
	}
	return a.perSource.Sources()
}

func (a *Admission) report(addr net.Addr, reason Reason) {
	if a.o.OnReject != nil {
		a.o.OnReject(addr, reason)
	}
}

// take takes the slots for a connection from addr, or names why not.
func (a *Admission) take(addr net.Addr) (release func(), reason Reason) {
	if !a.o.Allow.Allows(addr) {
		return nil, RejectNotAllowed
	}
	releaseSource, ok := a.perSource.Acquire(addr)
	if !ok {
		return nil, RejectPerSourceLimit
	}
	if n := a.open.Add(1); a.o.MaxConns > 0 && n > int64(a.o.MaxConns) {
		a.open.Add(-1)
		releaseSource()
		return nil, RejectMaxConns
	}
	var done atomic.Bool
	return func() {
		if !done.CompareAndSwap(false, true) {
			return
		}
		a.open.Add(-1)
		releaseSource()
	}, ""
}
