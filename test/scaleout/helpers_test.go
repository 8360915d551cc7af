package scaleout_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/gatewayproc"
	"github.com/hl7gw/gateway/internal/sendonce"
)

// freeAddrs returns n loopback addresses nothing listens on right now.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, n)
	var lns []net.Listener
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out[i] = ln.Addr().String()
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// gw is one gateway process with its addresses and configuration file.
type gw struct {
	*gatewayproc.Process
	mllp, http, cfg string
}

// startGateway writes a configuration (fresh loopback ports, a state
// directory of its own and no instance_id, as an operator would deploy
// identical instances) and runs `gateway serve` until /readyz is 200.
func startGateway(t *testing.T, name string, brokers []string) *gw {
	t.Helper()
	addrs := freeAddrs(t, 3)
	cfg := fmt.Sprintf(`mllp_addr: %q
http_addr: %q
grpc_addr: %q
state_dir: %q
shutdown_timeout: 30s
kafka:
  brokers: ["%s"]
  producer: {delivery_timeout: 20s, request_timeout: 5s}
  topics: {create: true, partitions: 3, replication_factor: 3, min_insync_replicas: 2}
connectors:
  - name: hl7-mllp
    type: hl7-mllp
    config: {hl7.dedup.enabled: "true", hl7.dedup.scope: cluster}
  - {name: fhir-rest, type: fhir-rest}
`, addrs[0], addrs[1], addrs[2], t.TempDir(), strings.Join(brokers, `", "`))
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &gw{mllp: addrs[0], http: addrs[1], cfg: path}
	g.launch(t, name)
	return g
}

// launch runs `gateway serve` with g's configuration until /readyz is 200;
// again after a kill, it is the same instance (same ports and state_dir,
// so the same instance id and transactional ids).
func (g *gw) launch(t *testing.T, name string) {
	t.Helper()
	g.Process = gatewayproc.Run(t, name, gatewayBin, "serve", "--config", g.cfg)
	g.WaitHTTP(t, "http://"+g.http+"/readyz", 90*time.Second)
}

// startHAProxy runs HAProxy in the foreground on loopback: a TCP frontend
// for MLLP and an HTTP one for REST in front of gws, health-checked on
// /readyz, as the README's Deployment section shows.
func startHAProxy(t *testing.T, gws []*gw) (mllpAddr, httpAddr string) {
	t.Helper()
	fe := freeAddrs(t, 2)
	var b strings.Builder
	fmt.Fprintf(&b, `global
    maxconn 4000
defaults
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
frontend mllp
    bind %s
    mode tcp
    default_backend gw_mllp
backend gw_mllp
    mode tcp
    balance roundrobin
    option httpchk GET /readyz
`, fe[0])
	for i, g := range gws {
		_, hp, _ := net.SplitHostPort(g.http)
		fmt.Fprintf(&b, "    server gw%d %s check port %s inter 300ms fall 2 rise 2\n", i+1, g.mllp, hp)
	}
	fmt.Fprintf(&b, `frontend rest
    bind %s
    mode http
    default_backend gw_http
backend gw_http
    mode http
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    retry-on conn-failure
`, fe[1])
	for i, g := range gws {
		fmt.Fprintf(&b, "    server gw%d %s check inter 300ms fall 2 rise 2\n", i+1, g.http)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	p := gatewayproc.Run(t, "haproxy", "haproxy", "-db", "-f", path)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", fe[1], time.Second); err == nil {
			c.Close()
			return fe[0], fe[1]
		}
		if !p.Running() || time.Now().After(deadline) {
			t.Fatalf("haproxy did not start (running: %v)", p.Running())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpDo(method, url string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// sendOnce sends msg on a new MLLP connection and returns the ACK code.
func sendOnce(addr string, msg []byte) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	info, err := sendonce.ExchangeACK(ctx, addr, nil, msg)
	return info.Code, err
}

// withControlID is the ADT sample with MSH-10 replaced.
func withControlID(id string) []byte {
	return bytes.Replace(adtA01, []byte("|MSG00001|"), []byte("|"+id+"|"), 1)
}

// txEntries is the number of Patients per transaction Bundle.
const txEntries = 3
