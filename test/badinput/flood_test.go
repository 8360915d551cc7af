package badinput

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hl7gw/gateway/edge/limits"
	"github.com/hl7gw/gateway/internal/corpus"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

const (
	// floodConns is how many connections the flood opens from one source.
	floodConns = 25000
	// floodGatewayFiles is the open-file limit of the flooded gateway: the
	// flood is six times larger, so without its budget the gateway runs
	// out of descriptors for certain.
	floodGatewayFiles = 4096
	// floodSource floods; secondSource is an interface engine that must
	// keep being served. Both are loopback addresses on Linux.
	floodSource, secondSource = "127.0.0.1", "127.0.0.2"
	// floodMaxTime bounds the flood (it takes about 3s on 2 cores).
	floodMaxTime = 30 * time.Second
)

// from dials from the local address ip.
func from(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
}

// raiseOwnFileLimit lifts the test process's open-file limit to want (the
// hard limit too where the process may, as root does) and returns what it
// got.
func raiseOwnFileLimit(t *testing.T, want uint64) uint64 {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < want {
		up := syscall.Rlimit{Cur: want, Max: want}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up); err == nil {
			return want
		}
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	return lim.Cur
}

// serving checks, from secondSource, everything the flood must not take
// away: an MLLP message answered AA, /healthz, gRPC SubmitHL7, and the
// embedded broker taking a record on a new connection.
func serving(p *gatewayProc, src string, msg []byte) error {
	d := from(src)
	ack, err := mllpRoundTripFrom(d, p.MLLPAddr, msg)
	if err != nil {
		return fmt.Errorf("mllp from %s: %w", src, err)
	}
	if code := msaCode(ack); code != "AA" {
		return fmt.Errorf("mllp from %s: MSA-1 %q, want AA", src, code)
	}
	if code, err := httpGetFrom(d, "http://"+p.HTTPAddr+"/healthz"); err != nil || code != http.StatusOK {
		return fmt.Errorf("/healthz from %s: %d, %v", src, code, err)
	}
	if err := grpcSubmitFrom(d, p.GRPCAddr, msg); err != nil {
		return fmt.Errorf("grpc from %s: %w", src, err)
	}
	if err := produceFrom(d, p.KafkaAddr); err != nil {
		return fmt.Errorf("embedded broker from %s: %w", src, err)
	}
	return nil
}

func httpGetFrom(d *net.Dialer, url string) (int, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func grpcSubmitFrom(d *net.Dialer, addr string, msg []byte) error {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return d.DialContext(ctx, "tcp", a) }))
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := gatewayv1.NewGatewayServiceClient(cc).SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: msg})
	if err != nil {
		return err
	}
	if resp.GetAckCode() != "AA" {
		return fmt.Errorf("ack %q, want AA", resp.GetAckCode())
	}
	return nil
}

// produceFrom writes one record to the broker at addr with a client of its
// own, so over a connection the broker has to accept now.
func produceFrom(d *net.Dialer, addr string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.Dialer(d.DialContext), kgo.AllowAutoTopicCreation())
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: "badinput.flood.probe", Value: []byte("probe")}).FirstErr()
}

// flood holds connections from one source; past hold it closes the
// oldest, so that a test process with fewer descriptors still opens
// floodConns connections in all.
type flood struct {
	mu     sync.Mutex
	held   []net.Conn
	hold   int
	opened atomic.Int64
	failed atomic.Int64
}

func (f *flood) run(targets []string, n, workers int) {
	// No local address: the kernel sends from floodSource to a loopback
	// target and picks the port at connect, which stays fast with tens of
	// thousands of ports in use (bind to port 0 does not).
	d := &net.Dialer{Timeout: 5 * time.Second}
	next := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for addr := range next {
				c, err := d.Dial("tcp", addr)
				if err != nil {
					f.failed.Add(1)
					continue
				}
				f.opened.Add(1)
				f.keep(c)
			}
		})
	}
	// Bounded in time too: a gateway that stops accepting must fail the
	// test, not hang it.
	deadline := time.Now().Add(floodMaxTime)
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		next <- targets[i%len(targets)]
	}
	close(next)
	wg.Wait()
}

func (f *flood) keep(c net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.held) >= f.hold {
		f.held[0].Close()
		f.held = f.held[1:]
	}
	f.held = append(f.held, c)
}

func (f *flood) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.held {
		c.Close()
	}
	f.held = nil
}

// TestFloodFromOneSourceLeavesTheOthersServed opens 25,000 connections
// from one address across the three doors of a gateway limited to 4096
// open files (issue 10: ~21,000 took every door and the embedded broker
// down for good). During the flood, while it holds its connections, and
// after it, a second address is served on every door and by the embedded
// broker, and the gateway never comes near its limit.
func TestFloodFromOneSourceLeavesTheOthersServed(t *testing.T) {
	if _, err := mllpRoundTripFrom(from(secondSource), gw.MLLPAddr, corpus.Read(t, corpus.HL7, "valid/pyhl7-sample_hl7.hl7")); errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Skipf("cannot send from %s here: %v", secondSource, err)
	}
	files := raiseOwnFileLimit(t, floodConns+2000)
	// Keep 1500 descriptors for the checks, the gRPC and Kafka clients.
	f := &flood{hold: max(min(floodConns, int(files)-1500), 256)}
	t.Cleanup(f.close)
	t.Logf("test process open-file limit %d: the flood holds up to %d connections", files, f.hold)

	p, err := launchGateway(t.TempDir(), launchOptions{openFiles: floodGatewayFiles})
	if err != nil {
		p.Stop()
		t.Fatalf("start the gateway: %v\n%s", err, tail(p.output(), 4000))
	}
	t.Cleanup(func() { p.Stop() })
	budget := limits.NewBudget(floodGatewayFiles, 3)
	msg := corpus.Read(t, corpus.HL7, "valid/pyhl7-sample_hl7.hl7")

	// During: the second source is checked over and over while the flood runs.
	var during []error
	var checks atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := serving(p, secondSource, msg); err != nil {
				during = append(during, err)
			}
			checks.Add(1)
		}
	})
	start := time.Now()
	f.run([]string{p.MLLPAddr, p.HTTPAddr, p.GRPCAddr}, floodConns, 64)
	close(stop)
	wg.Wait()
	t.Logf("flood: %d connections opened (%d failed to open) in %v; %d checks from %s during it",
		f.opened.Load(), f.failed.Load(), time.Since(start).Round(time.Millisecond), checks.Load(), secondSource)
	if len(during) > 0 {
		t.Errorf("%d of %d checks from %s failed during the flood; first: %v", len(during), checks.Load(), secondSource, during[0])
	}
	if f.opened.Load() < floodConns*9/10 {
		t.Fatalf("only %d of %d flood connections opened", f.opened.Load(), floodConns)
	}

	// Held: the flood keeps its connections open.
	if err := serving(p, secondSource, msg); err != nil {
		t.Errorf("while the flood holds its connections: %v", err)
	}
	if code, err := httpGetFrom(from(secondSource), "http://"+p.HTTPAddr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz while the flood holds its connections: %d, %v", code, err)
	}
	fds := openFiles(t, p)
	if fds > floodGatewayFiles-budget.Reserve+50 {
		t.Errorf("the gateway holds %d files of %d, more than the doors' budget %d", fds, floodGatewayFiles, floodGatewayFiles-budget.Reserve)
	}
	m := scrape(t, p)
	refused := map[string]float64{
		"mllp": m.sum("gateway_connections_rejected_total", `door="mllp"`, `reason="per_source_limit"`),
		"http": m.sum("gateway_connections_rejected_total", `door="http"`, `reason="per_source_limit"`),
		"grpc": m.sum("gateway_connections_rejected_total", `door="grpc"`, `reason="per_source_limit"`),
	}
	active := m.sum("gateway_mllp_connections_active")
	t.Logf("gateway: %d open files of %d; per-source limit %d; refused per source %v; MLLP connections open %v",
		fds, floodGatewayFiles, budget.PerSource, refused, active)
	for door, n := range refused {
		if n == 0 {
			t.Errorf("%s: no connection refused for the per-source limit", door)
		}
	}
	// One more: the second source's last check may not be seen closed yet.
	if active > float64(budget.PerSource+1) {
		t.Errorf("%v MLLP connections open, more than the per-source limit %d", active, budget.PerSource)
	}

	// After: the flood closes; everyone, the flooding address too, is served.
	f.close()
	deadline := time.Now().Add(20 * time.Second)
	for openFiles(t, p) > 200 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, src := range []string{secondSource, floodSource} {
		if err := serving(p, src, msg); err != nil {
			t.Errorf("after the flood: %v", err)
		}
	}
	if code, err := httpGetFrom(from(secondSource), "http://"+p.HTTPAddr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the flood: %d, %v", code, err)
	}
}

// openFiles counts the gateway process's open file descriptors.
func openFiles(t *testing.T, p *gatewayProc) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Cmd.Process.Pid))
	if err != nil {
		t.Fatalf("count the gateway's open files: %v", err)
	}
	return len(ents)
}

// metrics are the sample lines of one /metrics scrape.
type metrics []string

// scrape reads the gateway's /metrics from secondSource (the flooding
// source may hold its per-source maximum).
func scrape(t *testing.T, p *gatewayProc) metrics {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: from(secondSource).DialContext, DisableKeepAlives: true}}
	resp, err := c.Get("http://" + p.HTTPAddr + "/metrics")
	if err != nil {
		t.Fatalf("scrape /metrics: %v", err)
	}
	defer resp.Body.Close()
	var m metrics
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			m = append(m, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return m
}

// sum adds the values of name's samples whose labels contain every pair
// (written as in the exposition format, `reason="max_conns"`).
func (m metrics) sum(name string, pairs ...string) float64 {
	var total float64
	for _, line := range m {
		series, value, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		match := true
		for _, p := range pairs {
			match = match && strings.Contains(series, p)
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); match && err == nil {
			total += v
		}
	}
	return total
}
