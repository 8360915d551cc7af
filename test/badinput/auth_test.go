package badinput

import (
	"bufio"
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

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/edge/auth"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// authKey is the fhir:write and hl7:write key of the authenticated gateway.
const authKey = "badinput-key-6c1f0e93b2a84d57"

// launchAuthGateway starts a second gateway whose fhir-rest and grpc
// connectors demand an API key, and stops it when t ends.
func launchAuthGateway(t *testing.T) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	keys := filepath.Join(dir, "api-keys")
	line := fmt.Sprintf("badinput %s %s,%s\n", auth.HashKey(authKey), auth.ScopeFHIRWrite, auth.ScopeHL7Write)
	if err := os.WriteFile(keys, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "connectors:\n" +
		"  - {name: adt, type: hl7-mllp}\n" +
		"  - {name: fhir-rest, type: fhir-rest, config: {auth.api.keys.file: " + keys + "}}\n" +
		"  - {name: grpc, type: grpc, config: {auth.api.keys.file: " + keys + "}}\n"
	p, err := launchGateway(dir, launchOptions{config: cfg})
	t.Cleanup(func() {
		if !p.Stop() {
			t.Errorf("authenticated gateway did not stop cleanly on SIGTERM")
		}
	})
	if err != nil {
		t.Fatalf("start the authenticated gateway: %v\n%s", err, tail(p.output(), 4000))
	}
	return p
}

// rawHTTP sends one request exactly as written (no client-side cleaning of
// the path) on a new connection and returns the status and headers.
func rawHTTP(t *testing.T, addr, method, target, authorization string, body []byte) (int, http.Header, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, addr)
	if authorization != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Type: application/fhir+json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	if _, err := c.Write(append([]byte(b.String()), body...)); err != nil {
		t.Fatalf("%s %s: write: %v", method, target, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, target, err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&sb)
	return resp.StatusCode, resp.Header, sb.String()
}

// statusTopic is where gateway instances write their own heartbeats
// (kafka.topics.status_topic's default): not message data, and written
// whatever requests arrive, so recordsInBroker leaves it out.
const statusTopic = "hl7-gateway.status"

// recordsInBroker sums the end offsets of every partition of every topic
// of the embedded broker but statusTopic: the records written so far.
func recordsInBroker(t *testing.T, p *gatewayProc) (int64, []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics.Names()...)
	if err != nil {
		t.Fatalf("end offsets: %v", err)
	}
	var total int64
	var written []string
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Errorf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		if o.Offset > 0 && o.Topic != statusTopic {
			total += o.Offset
			written = append(written, fmt.Sprintf("%s/%d:%d", o.Topic, o.Partition, o.Offset))
		}
	})
	return total, written
}

// bypassPaths are issue 10's paths and their relatives: encoded,
// doubled, mixed-case and dot-segment forms that a router might read as
// a public probe, or as /fhir, while a naive check read them otherwise.
var bypassPaths = []string{
	"/fhir/%2e%2e/metrics", "/fhir/%2e%2e/healthz", "/fhir/%2E%2E/readyz", "/fhir/%2e%2E/connectors",
	"/fhir/../metrics", "/fhir/./Patient", "/fhir/Patient/..", "/fhir/Patient/.",
	"//fhir/Patient", "/fhir//Patient", "//metrics", "/fhir/Patient//1",
	"/fhir%2fPatient", "/fhir%2FPatient", "/fhir/Patient%2f1", "/%66hir/Patient", "/fhir/%50atient",
	"/v1/%2e%2e/metrics", "/v1/hl7/../../healthz", "/%2e%2e/fhir/Patient", "/connectors/%2e%2e/fhir/Patient",
	"/metrics/..%2ffhir/Patient", "/healthz/%2e%2e/fhir/Patient", "/fhir/%2e%2e%2fmetrics",
	"/FHIR/Patient", "/Fhir/Patient", "/fhir/patient/../../METRICS", "/Metrics", "/HEALTHZ", "/ReadyZ",
	"/V1/hl7", "/Connectors/adt/pause",
}

var allMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

func TestEncodedAndOddPathsNeedACredentialAndWriteNothing(t *testing.T) {
	p := launchAuthGateway(t)
	if n, written := recordsInBroker(t, p); n != 0 {
		t.Fatalf("records before the test: %v", written)
	}
	body := []byte(`{"resourceType":"Patient","birthDate":"1970-01-01"}`)
	cases := 0
	for _, path := range bypassPaths {
		for _, method := range allMethods {
			cases++
			code, h, out := rawHTTP(t, p.HTTPAddr, method, path, "", body)
			if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("%s %s without a token answered %d (challenge %q), want 401: %.300s", method, path, code, h.Get("WWW-Authenticate"), out)
			}
		}
	}
	t.Logf("%d requests over odd paths, none admitted", cases)
	if n, written := recordsInBroker(t, p); n != 0 {
		t.Fatalf("requests without a token wrote %d records: %v", n, written)
	}

	// The same paths with a valid key are refused before any handler: 400
	// from the gate for a path that is not canonical, 403 for a canonical
	// one without a row (mixed case). None writes a record either.
	for _, path := range bypassPaths {
		code, _, out := rawHTTP(t, p.HTTPAddr, "PUT", path, "Bearer "+authKey, body)
		gate := code == http.StatusBadRequest && strings.Contains(out, "non-canonical request path")
		if !gate && !(code == http.StatusForbidden && strings.Contains(out, "no scope is defined for this route")) {
			t.Errorf("PUT %s with a key answered %d, want the gate's 400 or 403: %.300s", path, code, out)
		}
	}
	if n, written := recordsInBroker(t, p); n != 0 {
		t.Fatalf("odd paths with a key wrote %d records: %v", n, written)
	}

	// The probes stay public, and a canonical request with the key is
	// stored: the record count can see a write.
	for _, probe := range []string{"/healthz", "/readyz", "/metrics", "/connectors"} {
		if code, _, out := rawHTTP(t, p.HTTPAddr, "GET", probe, "", nil); code != http.StatusOK {
			t.Errorf("GET %s without a token: %d %.200s, want 200", probe, code, out)
		}
	}
	if code, _, out := rawHTTP(t, p.HTTPAddr, "POST", "/fhir/Patient", "", body); code != http.StatusUnauthorized {
		t.Fatalf("POST /fhir/Patient without a token: %d %.300s", code, out)
	}
	if code, _, out := rawHTTP(t, p.HTTPAddr, "POST", "/fhir/Patient", "Bearer "+authKey, body); code != http.StatusCreated {
		t.Fatalf("POST /fhir/Patient with the key: %d %.300s, want 201", code, out)
	}
	if n, _ := recordsInBroker(t, p); n != 1 {
		t.Fatalf("%d records after one accepted Patient, want 1", n)
	}
}

func TestGRPCMethodsWithoutARowAreRefusedToEveryToken(t *testing.T) {
	p := launchAuthGateway(t)
	cc, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	withKey := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+authKey)
	for _, tt := range []struct {
		name   string
		ctx    context.Context
		method string
		want   codes.Code
	}{
		{"SubmitHL7 without a token", ctx, "/gateway.v1.GatewayService/SubmitHL7", codes.Unauthenticated},
		{"an invented method without a token", ctx, "/gateway.v1.GatewayService/Invented", codes.Unauthenticated},
		{"an invented method with a key", withKey, "/gateway.v1.GatewayService/Invented", codes.PermissionDenied},
		{"an invented service with a key", withKey, "/gateway.v2.GatewayService/SubmitHL7", codes.PermissionDenied},
		{"a mixed-case method with a key", withKey, "/gateway.v1.GatewayService/submitHL7", codes.PermissionDenied},
		{"a doubled slash before the service with a key", withKey, "//gateway.v1.GatewayService/SubmitHL7", codes.PermissionDenied},
		{"a trailing slash after the method with a key", withKey, "/gateway.v1.GatewayService/SubmitHL7/", codes.PermissionDenied},
		{"health with a doubled slash without a token", ctx, "//grpc.health.v1.Health/Check", codes.Unauthenticated},
	} {
		err := cc.Invoke(tt.ctx, tt.method, &gatewayv1.SubmitHL7Request{Message: []byte("MSH|^~\\&|")}, &gatewayv1.SubmitHL7Response{})
		if status.Code(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
	if n, written := recordsInBroker(t, p); n != 0 {
		t.Fatalf("refused calls wrote %d records: %v", n, written)
	}
}

func TestTenThousandBadTokensLogFewLines(t *testing.T) {
	p := launchAuthGateway(t)
	c, err := net.DialTimeout("tcp", p.HTTPAddr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	const n = 10_000
	// Requests are written by one goroutine and answers read by this one,
	// on one kept-alive connection.
	go func() {
		w := bufio.NewWriter(c)
		for i := range n {
			fmt.Fprintf(w, "POST /fhir/Patient HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer bad-%d\r\nContent-Type: application/fhir+json\r\nContent-Length: 2\r\n\r\n{}", i)
			if i%100 == 99 {
				if w.Flush() != nil {
					return
				}
			}
		}
		_ = w.Flush()
	}()
	r := bufio.NewReader(c)
	for i := range n {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad token %d answered %d, want 401", i, resp.StatusCode)
		}
	}
	time.Sleep(200 * time.Millisecond) // let the last lines reach stderr
	out := p.output()
	lines := strings.Count(out, `"msg":"auth: request refused"`)
	t.Logf("%d bad tokens: %d refusal lines logged", n, lines)
	if lines == 0 || lines > 10 {
		t.Fatalf("%d refusal lines for %d bad tokens from one address, want 1 to 10:\n%s", lines, n, tail(out, 3000))
	}
	if strings.Contains(out, "bad-1") {
		t.Fatal("a token was logged")
	}
}
