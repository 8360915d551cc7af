package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc"

	"github.com/hl7gw/gateway/cluster"
	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/connectors"
	"github.com/hl7gw/gateway/edge"
	"github.com/hl7gw/gateway/edge/httpdrain"
	"github.com/hl7gw/gateway/edge/limits"
	"github.com/hl7gw/gateway/embedded"
	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
)

// gateway is a running gateway: its broker connection, pipelines and
// listeners. start builds it; shutdown takes it down in order.
type gateway struct {
	cfg    config.Config
	log    *slog.Logger
	reg    *prometheus.Registry
	broker *embedded.Broker // nil with external brokers
	prod   *publish.Producer
	pm     *pipeline.Metrics
	mm     *mllp.Metrics
	conns  *connectors.Registry // the /connectors REST API
	edges  *edge.Builder        // TLS, allow-lists, limits and auth of every listener
	budget limits.Budget        // connection limits not configured come from here
	ready  *readiness           // /readyz and gRPC health

	instanceID string            // see identify
	member     *cluster.Member   // the status topic: instance id, shared connector state
	dedupLog   *cluster.DedupLog // hl7.dedup.scope=cluster; nil without

	// bg is the context of background loops (certificate and JWKS
	// reloads); closeAll cancels it.
	bg       context.Context
	cancelBg context.CancelFunc

	mllp []*mllpDoor
	http []*httpDoor
	grpc []*grpcDoor

	// errc receives the first error of a listener that stopped on its own.
	errc chan error
	wg   sync.WaitGroup

	stopOnce sync.Once
	stopErr  error
}

type mllpDoor struct {
	name string
	srv  *mllp.Server
	ln   net.Listener
}

type httpDoor struct {
	srv *httpdrain.Server
	ln  net.Listener
}

type grpcDoor struct {
	name string
	srv  *grpc.Server
	ln   net.Listener
}

// start connects to Kafka (starting the embedded broker when no brokers are
// configured), builds one pipeline per connector and format, and starts
// every listener. It returns once all listeners accept connections; on any
// error it undoes what it started.
func start(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *gateway, err error) {
	g := &gateway{cfg: cfg, log: log, reg: prometheus.NewRegistry(), errc: make(chan error, 8)}
	g.bg, g.cancelBg = context.WithCancel(context.Background())
	g.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defer func() {
		if err != nil {
			g.closeAll()
		}
	}()

	if err := g.identify(); err != nil {
		return nil, err
	}
	log = g.log
	g.budget = edge.FileBudget(cfg, log)
	g.edges = edge.New(edge.Options{Registerer: g.reg, Budget: g.budget, Logger: log, Run: g.background})
	brokers := cfg.Kafka.Brokers
	if cfg.Embedded() {
		g.broker, err = embedded.Start(ctx, cfg.EmbeddedKafkaAddr, log, embedded.MaxConns(g.budget.Embedded))
		if err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
		brokers = g.broker.Addrs()
		log.Info("embedded Kafka-protocol broker started", slog.String("addr", brokers[0]))
	}
	var extra []kgo.Opt
	if cfg.Embedded() {
		// Development mode: topics appear on first use, as with kcat.
		extra = append(extra, kgo.AllowAutoTopicCreation())
	}
	g.prod, err = publish.New(ctx, g.cfg.Kafka, brokers, g.reg, log, extra...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	g.ready = newReadiness(g.prod, g.broker)
	go g.initTransactions(cfg.Kafka.Producer.DeliveryTimeout)
	if err := g.checkTopics(ctx); err != nil {
		return nil, err
	}
	if err := g.joinCluster(ctx, brokers); err != nil {
		return nil, err
	}
	if err := g.openSharedDedup(ctx, brokers); err != nil {
		return nil, err
	}
	if err := g.buildDoors(ctx); err != nil {
		return nil, err
	}
	for _, n := range g.conns.Names() {
		g.publishStatus(n)
	}
	g.serveAll()
	return g, nil
}

// pipelineMetrics is shared by every pipeline (connector is a label).
func (g *gateway) pipelineMetrics() *pipeline.Metrics {
	if g.pm == nil {
		g.pm = pipeline.NewMetrics(g.reg)
	}
	return g.pm
}

func (g *gateway) serveAll() {
	report := func(what string, err error) {
		if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) || errors.Is(err, mllp.ErrServerClosed) {
			return
		}
		select {
		case g.errc <- fmt.Errorf("%s: %w", what, err):
		default:
		}
	}
	for _, d := range g.mllp {
		g.wg.Go(func() { report("mllp "+d.name, d.srv.Serve(d.ln)) })
		g.log.Info("listening", slog.String("door", "mllp"), slog.String("connector", d.name), slog.String("addr", d.ln.Addr().String()))
	}
	for _, d := range g.http {
		g.wg.Go(func() { report("http", d.srv.Serve(d.ln)) })
		g.log.Info("listening", slog.String("door", "http"), slog.String("addr", d.ln.Addr().String()))
	}
	for _, d := range g.grpc {
		g.wg.Go(func() { report("grpc "+d.name, d.srv.Serve(d.ln)) })
		g.log.Info("listening", slog.String("door", "grpc"), slog.String("connector", d.name), slog.String("addr", d.ln.Addr().String()))
	}
}

// shutdown stops accepting on every door and lets each finish what is in
// flight (every message gets its answer), then flushes the producer and
// closes the Kafka client and the embedded broker. It blocks until done or
// ctx ends; past ctx, connections are cut and the error says so.
// Calling it again returns the first call's result.
func (g *gateway) shutdown(ctx context.Context) error {
	g.stopOnce.Do(func() { g.stopErr = g.drain(ctx) })
	return g.stopErr
}

func (g *gateway) drain(ctx context.Context) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	add := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	for _, d := range g.mllp {
		wg.Go(func() { add(d.srv.Shutdown(ctx)) })
	}
	for _, d := range g.http {
		wg.Go(func() { add(d.srv.Shutdown(ctx)) })
	}
	for _, d := range g.grpc {
		wg.Go(func() { add(gracefulStop(ctx, d.srv)) })
	}
	wg.Wait()
	if err := g.prod.Flush(ctx); err != nil {
		add(fmt.Errorf("flush: %w", err))
	}
	g.leaveCluster(ctx)
	g.closeAll()
	g.wg.Wait()
	return errors.Join(errs...)
}

// gracefulStop is grpc's GracefulStop bounded by ctx.
func gracefulStop(ctx context.Context, s *grpc.Server) error {
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.Stop()
		<-done
		return fmt.Errorf("grpc: in-flight calls cut at shutdown deadline: %w", ctx.Err())
	}
}

// closeAll closes what start opened, without draining: listeners, the
// producer and the embedded broker, and ends background loops. Safe on a
// partly started gateway.
func (g *gateway) closeAll() {
	g.cancelBg()
	for _, d := range g.mllp {
		d.ln.Close()
	}
	for _, d := range g.http {
		d.ln.Close()
		d.srv.Close()
	}
	for _, d := range g.grpc {
		d.srv.Stop()
	}
	if g.member != nil {
		g.member.Close()
	}
	if g.dedupLog != nil {
		g.dedupLog.Close()
	}
	if g.prod != nil {
		g.prod.Close()
	}
	if g.broker != nil {
		g.broker.Close()
	}
}

// initTransactions registers the producer's transactional ids at start, so
// that a transaction this instance id left open when its previous process
// died is aborted now rather than after the transaction timeout (see
// publish.Producer.InitTransactions). Best effort: an id that fails
// registers on first use.
func (g *gateway) initTransactions(within time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := g.prod.InitTransactions(ctx); err != nil {
		g.log.Warn("transactional ids not registered at start; they register on first use", slog.Any("error", err))
		return
	}
	g.log.Debug("transactional ids registered")
}
