package badinput

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/internal/corpus"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

const (
	// stuckStreams is how many StreamHL7 calls send one message and go
	// silent: more than grpc.max.concurrent.streams (100 by default).
	stuckStreams = 150
	// streamIdle is the stuck-stream gateway's grpc.stream.idle.timeout.
	streamIdle = 3 * time.Second
)

// stuckStreamConfig is the gateway's default connectors with a short
// stream idle timeout.
var stuckStreamConfig = `connectors:
  - {name: hl7-mllp, type: hl7-mllp}
  - {name: fhir-rest, type: fhir-rest}
  - name: grpc
    type: grpc
    config: {grpc.stream.idle.timeout: "` + streamIdle.String() + `"}
`

// TestStuckStreamsAreCutAndANewStreamIsServed opens 150 StreamHL7 calls
// that each send one message and then say nothing (issue 10: 100 of them
// locked every other client out for good). The 100 within the stream
// limit get their answer and are then ended with UNAVAILABLE naming
// grpc.stream.idle.timeout; the 50 past it are refused at once; then a new
// stream is served.
func TestStuckStreamsAreCutAndANewStreamIsServed(t *testing.T) {
	p, err := launchGateway(t.TempDir(), launchOptions{config: stuckStreamConfig})
	if err != nil {
		p.Stop()
		t.Fatalf("start the gateway: %v\n%s", err, tail(p.output(), 4000))
	}
	t.Cleanup(func() { p.Stop() })
	msg := corpus.Read(t, corpus.HL7, "valid/pyhl7-sample_hl7.hl7")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	type result struct {
		answered bool          // the message got its ACK
		end      error         // how the stream ended
		after    time.Duration // since the answer
	}
	results := make([]result, stuckStreams)
	var wg sync.WaitGroup
	for i := range stuckStreams {
		wg.Go(func() {
			st, err := p.grpc.StreamHL7(ctx)
			if err != nil {
				results[i].end = err
				return
			}
			if err := st.Send(&gatewayv1.StreamHL7Request{Message: msg}); err != nil && !errors.Is(err, io.EOF) {
				results[i].end = err
				return
			}
			resp, err := st.Recv()
			if err != nil {
				results[i].end = err
				return
			}
			results[i].answered = resp.GetAckCode() == "AA"
			answered := time.Now()
			_, results[i].end = st.Recv() // the client stays silent
			results[i].after = time.Since(answered)
		})
	}
	wg.Wait()

	var cut, refused, other int
	var slowest time.Duration
	for i, r := range results {
		s := status.Convert(r.end)
		switch {
		case r.answered && s.Code() == codes.Unavailable && strings.Contains(s.Message(), "grpc.stream.idle.timeout"):
			cut++
			slowest = max(slowest, r.after)
		case !r.answered && s.Code() == codes.ResourceExhausted:
			refused++
		default:
			other++
			t.Errorf("stream %d: answered %v, ended %v", i, r.answered, r.end)
		}
	}
	t.Logf("%d streams cut after going silent (the last %v after its answer, idle timeout %v), %d refused past the limit",
		cut, slowest.Round(time.Millisecond), streamIdle, refused)
	if cut != 100 || refused != stuckStreams-100 {
		t.Errorf("cut %d and refused %d of %d stuck streams, want 100 and %d", cut, refused, stuckStreams, stuckStreams-100)
	}
	if slowest > streamIdle+5*time.Second {
		t.Errorf("a silent stream lived %v after its answer, with an idle timeout of %v", slowest, streamIdle)
	}

	st, err := p.grpc.StreamHL7(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&gatewayv1.StreamHL7Request{Message: msg}); err != nil {
		t.Fatal(err)
	}
	if resp, err := st.Recv(); err != nil || resp.GetAckCode() != "AA" {
		t.Fatalf("a new stream after the stuck ones: %v, %v; want AA", resp.GetAckCode(), err)
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("the new stream ended with %v, want a clean end", err)
	}
	if n := scrape(t, p).sum("gateway_grpc_streams_active"); n != 0 {
		t.Errorf("%v streams still counted open", n)
	}
}

// TestMessagesJustOverTheLimitAreResourceExhausted sends 10 MiB + 1 KiB,
// past grpc.max.message.bytes but within the room gRPC's own receive limit
// leaves (issue 10: INVALID_ARGUMENT there, RESOURCE_EXHAUSTED above).
func TestMessagesJustOverTheLimitAreResourceExhausted(t *testing.T) {
	big := bytes.Repeat([]byte("A"), 10<<20+1<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cases := []struct {
		name string
		call func() error
	}{
		{"SubmitHL7", func() error {
			_, err := gw.grpc.SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: big})
			return err
		}},
		{"SubmitFHIR", func() error {
			_, err := gw.grpc.SubmitFHIR(ctx, &gatewayv1.SubmitFHIRRequest{ResourceType: "Patient", Resource: big})
			return err
		}},
		{"StreamHL7", func() error {
			st, err := gw.grpc.StreamHL7(ctx)
			if err != nil {
				return err
			}
			if err := st.Send(&gatewayv1.StreamHL7Request{Message: big}); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			_, err = st.Recv()
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name+" of 10 MiB + 1 KiB is RESOURCE_EXHAUSTED", func(t *testing.T) {
			if err := tc.call(); status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("%v, want RESOURCE_EXHAUSTED", err)
			}
		})
	}
	requireAlive(t)
}
