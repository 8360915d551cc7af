package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge"
	"github.com/hl7gw/gateway/edge/httpdrain"
	"github.com/hl7gw/gateway/hl7/conformance"
	"github.com/hl7gw/gateway/ingest/api"
	"github.com/hl7gw/gateway/ingest/api/openapi"
	"github.com/hl7gw/gateway/ingest/fhirdoor"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/router"
	"github.com/hl7gw/gateway/topics"
)

// buildDoors creates, for every connector, its pipelines and its listener:
// an MLLP server for hl7-mllp, the FHIR REST handler for fhir-rest, a gRPC
// server for grpc. Listeners are bound here (so that a port in use fails
// start) but not yet served.
func (g *gateway) buildDoors(ctx context.Context) error {
	muxes := map[string]*http.ServeMux{}
	edges := map[string]*edge.Connector{} // HTTP address -> the fhir-rest connector's edge
	mux := func(addr string) *http.ServeMux {
		if m, ok := muxes[addr]; ok {
			return m
		}
		m := http.NewServeMux()
		muxes[addr] = m
		return m
	}
	g.mountOps(mux(g.cfg.HTTPAddr))
	for _, c := range g.cfg.Connectors {
		s, err := c.Settings(g.cfg)
		if err != nil {
			return fmt.Errorf("connector %s: %w", c.Name, err)
		}
		var alpn []string
		if c.Type == config.TypeFHIRREST {
			alpn = []string{"h2", "http/1.1"}
		}
		e, err := g.edges.Connector(ctx, c.Name, s, alpn)
		if err != nil {
			return err
		}
		switch c.Type {
		case config.TypeHL7MLLP:
			if err := g.buildMLLP(c.Name, s, e); err != nil {
				return err
			}
		case config.TypeFHIRREST:
			svc, err := g.service(c.Name, s)
			if err != nil {
				return err
			}
			h, err := api.NewHTTPHandler(ctx, svc, api.HTTPOptions{Capability: capabilityOptions(s)})
			if err != nil {
				return fmt.Errorf("connector %s: %w", c.Name, err)
			}
			mux(s.ListenAddr).Handle("/", h)
			edges[s.ListenAddr] = e
		case config.TypeGRPC:
			svc, err := g.service(c.Name, s)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", s.ListenAddr)
			if err != nil {
				return fmt.Errorf("connector %s: %w", c.Name, err)
			}
			srv := api.NewGRPCServer(svc, g.ready.Check, e.GRPCOptions()...)
			g.grpc = append(g.grpc, &grpcDoor{name: c.Name, srv: srv, ln: g.edges.Listener(e, edge.DoorGRPC, ln)})
		}
	}
	for addr, m := range muxes {
		if err := g.buildHTTP(addr, m, edges[addr]); err != nil {
			return err
		}
	}
	if g.cfg.DebugAddr != "" {
		m := http.NewServeMux()
		m.HandleFunc("/debug/pprof/", pprof.Index)
		m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		m.HandleFunc("/debug/pprof/profile", pprof.Profile)
		m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		m.HandleFunc("/debug/pprof/trace", pprof.Trace)
		if err := g.buildHTTP(g.cfg.DebugAddr, m, nil); err != nil {
			return fmt.Errorf("debug: %w", err)
		}
	}
	return nil
}

// buildHTTP binds one HTTP listener; e (nil for an address serving only
// /metrics and the probes) brings TLS, limits, authentication and the
// request timeouts of its fhir-rest connector.
func (g *gateway) buildHTTP(addr string, m *http.ServeMux, e *edge.Connector) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	// Drained rather than shut: a request already sent on a kept-alive
	// connection when shutdown begins is answered, not cut off.
	g.http = append(g.http, &httpDoor{srv: httpdrain.New(g.edges.HTTPServer(e, m), 0), ln: g.edges.Listener(e, edge.DoorHTTP, ln)})
	return nil
}

// mountOps serves /metrics, /healthz (the process is up), /readyz (the
// broker can take a record, see readiness) and /openapi.json (the REST
// door's OpenAPI document).
func (g *gateway) mountOps(m *http.ServeMux) {
	m.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{Registry: g.reg}))
	m.Handle("GET /openapi.json", openapi.Handler())
	g.mountConnectors(m)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := g.ready.Check(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: kafka: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
}

// maxTxGroup bounds the converted messages committed in one transaction.
const maxTxGroup = 64

// hl7Door builds the HL7 v2 pipeline of a connector.
func (g *gateway) hl7Door(name string, s config.ConnectorSettings) (*hl7door.Door, error) {
	var v hl7door.Validator
	if s.HL7ValidationEnabled {
		opts := conformance.Options{Strict: s.HL7Strict, Version: s.HL7Version, CharsetFallback: s.HL7Charset}
		if s.HL7ProfileFile != "" {
			p, err := conformance.LoadProfile(s.HL7ProfileFile)
			if err != nil {
				return nil, fmt.Errorf("connector %s: hl7.parser.config.file: %w", name, err)
			}
			opts.Profile = p
		}
		val, err := conformance.New(opts)
		if err != nil {
			return nil, fmt.Errorf("connector %s: %w", name, err)
		}
		v = val
	} else {
		// Not validated, but the record headers still need the charset
		// to be UTF-8.
		val, err := conformance.New(conformance.Options{CharsetFallback: s.HL7Charset})
		if err != nil {
			return nil, fmt.Errorf("connector %s: %w", name, err)
		}
		v = val
	}
	sc := hl7door.StepsConfig{Connector: name, TopicPrefix: s.TopicPrefix, Validator: v}
	var pub pipeline.Publisher = observedPublisher{g.prod, g.ready}
	if s.HL7FHIR.Enabled() {
		// Each converted message is a transaction; those of concurrent
		// messages are committed together.
		pub = hl7door.NewTxGroups(pub, g.cfg.Kafka.Producer.TransactionalProducers, maxTxGroup)
		dlq := s.FHIRDLQTopic
		if s.ErrorsTolerance == config.ToleranceNone {
			dlq = ""
		}
		sc.Converter = hl7door.NewConverter(hl7door.ConvertConfig{Types: s.HL7FHIR.Types, Zone: s.HL7FHIR.Zone,
			DLQTopic: dlq, DLQContextHeaders: s.DLQContextHeaders}, name, g.reg)
	}
	steps := hl7door.NewSteps(sc)
	p := pipeline.New(g.pipelineConfig(name, s, s.HL7DLQTopic, router.ContentTypeHL7, s.HL7ValidationEnabled), steps, pub, g.pipelineMetrics())
	g.addPipeline(name, p)
	opts := []hl7door.DoorOption{hl7door.WithACKPolicy(hl7door.ACKPolicy{Warnings: s.HL7ACK.Warnings, MaxErrors: s.HL7ACK.MaxErrors})}
	if s.Edge.Dedup {
		dd := hl7door.NewDedup(hl7door.DedupConfig{Window: s.Edge.DedupWindow, MaxEntries: s.Edge.DedupMax, Shared: g.sharedMemory(s)}, name, g.reg)
		opts = append(opts, hl7door.WithDedup(dd))
	}
	return hl7door.NewDoor(p, g.log, opts...), nil
}

// fhirPipeline builds the FHIR pipeline of a connector.
func (g *gateway) fhirPipeline(name string, s config.ConnectorSettings) *pipeline.Pipeline[fhirdoor.Request, *fhirdoor.Message] {
	steps := fhirdoor.NewSteps(fhirdoor.StepsConfig{Connector: name, TopicPrefix: s.TopicPrefix, ValidationEnabled: s.FHIRValidationEnabled, Strict: s.FHIRStrict,
		AsReceived: s.FHIRRecordAsReceived})
	p := pipeline.New(g.pipelineConfig(name, s, s.FHIRDLQTopic, router.ContentTypeFHIR, s.FHIRValidationEnabled), steps, observedPublisher{g.prod, g.ready}, g.pipelineMetrics())
	g.addPipeline(name, p)
	return p
}

func (g *gateway) pipelineConfig(name string, s config.ConnectorSettings, dlq, contentType string, validate bool) pipeline.Config {
	tol := pipeline.ToleranceAll
	if s.ErrorsTolerance == "none" {
		tol = pipeline.ToleranceNone
	}
	return pipeline.Config{
		Connector: name, ValidationEnabled: validate, Tolerance: tol,
		DLQTopic: dlq, DLQContextHeaders: s.DLQContextHeaders,
		ContentType: contentType, MaxInFlight: s.MaxInFlight,
		Log: g.log,
	}
}

// capabilityOptions is what a fhir-rest connector's CapabilityStatement
// says about its configuration: token schemes, client certificates, the
// record form.
func capabilityOptions(s config.ConnectorSettings) api.CapabilityOptions {
	return api.CapabilityOptions{
		APIKeys:            s.Edge.Auth.APIKeysFile != "",
		JWT:                s.Edge.Auth.JWKSFile != "" || s.Edge.Auth.JWKSURL != "",
		ClientCertificates: s.Edge.TLS.ClientAuth == "require",
		RecordAsReceived:   s.FHIRRecordAsReceived,
	}
}

// service builds the gRPC/REST service of a fhir-rest or grpc connector:
// FHIR and HL7 (SubmitHL7, POST /v1/hl7) pipelines from its settings.
func (g *gateway) service(name string, s config.ConnectorSettings) (*api.Service, error) {
	door, err := g.hl7Door(name, s)
	if err != nil {
		return nil, err
	}
	return api.NewService(door, g.fhirPipeline(name, s), api.ServiceOptions{MaxBodyBytes: int64(s.MaxFrameBytes), Logger: g.log,
		StreamIdleTimeout: s.Edge.StreamIdleTimeout}), nil
}

func (g *gateway) buildMLLP(name string, s config.ConnectorSettings, e *edge.Connector) error {
	door, err := g.hl7Door(name, s)
	if err != nil {
		return err
	}
	if g.mm == nil {
		g.mm = mllp.NewMetrics(g.reg)
	}
	ln, err := net.Listen("tcp", s.ListenAddr)
	if err != nil {
		return fmt.Errorf("connector %s: %w", name, err)
	}
	h := mllp.HandlerFunc(func(ctx context.Context, _ mllp.ConnInfo, payload []byte) []byte {
		ack, _ := door.SubmitHL7(ctx, payload) // payload is the handler's own (see mllp.Handler)
		return ack
	})
	srv := mllp.NewServer(name, e.MLLP(mllp.ServerConfig{
		MaxFrameSize: s.MaxFrameBytes, ReadTimeout: s.ReadTimeout, IdleTimeout: s.IdleTimeout,
		WriteTimeout: s.WriteTimeout, Logger: g.log.With(slog.String("connector", name)),
	}), h, g.mm)
	g.mllp = append(g.mllp, &mllpDoor{name: name, srv: srv, ln: ln})
	return nil
}

// checkTopics checks the dead-letter topics at start, and creates them when
// kafka.topics.create is set or the broker is the embedded one (see
// topics.Startup). Problems are logged as warnings: the gateway still
// starts, and a message that cannot be stored is answered AR, never lost.
func (g *gateway) checkTopics(ctx context.Context) error {
	st, err := topics.StartupFor(g.cfg)
	if err != nil {
		return err
	}
	found, err := st.Run(ctx, kadm.NewClient(g.prod.Client()))
	if err != nil {
		g.log.Warn("topic check failed", slog.String("error", err.Error()))
		return nil
	}
	for _, f := range found {
		g.log.Warn("topic problem", slog.String("topic", f.Topic), slog.String("level", string(f.Level)),
			slog.String("code", f.Code), slog.String("detail", f.Detail), slog.String("hint", f.Hint))
	}
	return nil
}
