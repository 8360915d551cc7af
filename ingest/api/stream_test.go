package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/ingest/fhirdoor"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// fixedAck answers every message AA after delay.
type fixedAck struct{ delay time.Duration }

func (f fixedAck) Answer(ctx context.Context, _ []byte) hl7door.Answer {
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
	}
	return hl7door.Answer{ACK: []byte("MSH|^~\\&|GW||||||ACK|1|P|2.5\rMSA|AA|1\r"), Code: "AA", Outcome: pipeline.Outcome{Status: pipeline.Accepted}}
}

// streamClient serves svc on a real gRPC server and returns a client.
func streamClient(t *testing.T, svc *Service) gatewayv1.GatewayServiceClient {
	t.Helper()
	gs := NewGRPCServer(svc, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return gatewayv1.NewGatewayServiceClient(cc)
}

func TestStreamHL7EndsAStreamThatGoesSilentAfterAnsweringIt(t *testing.T) {
	cl := streamClient(t, NewService(fixedAck{}, nil, ServiceOptions{StreamIdleTimeout: 300 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cl.StreamHL7(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := st.Send(&gatewayv1.StreamHL7Request{Message: []byte("MSH|x")}); err != nil {
		t.Fatal(err)
	}
	if resp, err := st.Recv(); err != nil || resp.GetAckCode() != "AA" {
		t.Fatalf("first answer %v, %v; want AA", resp, err)
	}
	_, err = st.Recv()
	if s := status.Convert(err); s.Code() != codes.Unavailable || !strings.Contains(s.Message(), "grpc.stream.idle.timeout") {
		t.Fatalf("silent stream ended with %v, want UNAVAILABLE naming grpc.stream.idle.timeout", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("silent stream ended after %v, want about 300ms", d)
	}
}

func TestStreamHL7KeepsAStreamThatKeepsSending(t *testing.T) {
	// Each message takes longer to answer than the idle timeout: time
	// spent answering is not silence.
	cl := streamClient(t, NewService(fixedAck{delay: 400 * time.Millisecond}, nil, ServiceOptions{StreamIdleTimeout: 300 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cl.StreamHL7(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		time.Sleep(150 * time.Millisecond)
		if err := st.Send(&gatewayv1.StreamHL7Request{Message: []byte("MSH|x")}); err != nil {
			t.Fatal(err)
		}
		if resp, err := st.Recv(); err != nil || resp.GetSequence() != uint64(i) {
			t.Fatalf("answer %d: %v, %v", i, resp, err)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("stream end: %v, want a clean end (EOF)", err)
	}
}

func TestMessagesOverTheLimitAreResourceExhaustedOnEveryMethod(t *testing.T) {
	const limit = 1 << 20
	// Past the limit but within the 64 KiB of room NewGRPCServer gives the
	// envelope, so the service's own check answers, not gRPC's.
	big := bytes.Repeat([]byte("A"), limit+1<<10)
	cl := streamClient(t, NewService(fixedAck{}, fhirNever{}, ServiceOptions{MaxBodyBytes: limit}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cases := []struct {
		name string
		call func() error
	}{
		{"SubmitHL7 answers RESOURCE_EXHAUSTED", func() error {
			_, err := cl.SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: big})
			return err
		}},
		{"SubmitFHIR answers RESOURCE_EXHAUSTED", func() error {
			_, err := cl.SubmitFHIR(ctx, &gatewayv1.SubmitFHIRRequest{ResourceType: "Patient", Resource: big})
			return err
		}},
		{"StreamHL7 ends with RESOURCE_EXHAUSTED", func() error {
			st, err := cl.StreamHL7(ctx)
			if err != nil {
				return err
			}
			if err := st.Send(&gatewayv1.StreamHL7Request{Message: big}); err != nil {
				return err
			}
			_, err = st.Recv()
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("%v, want RESOURCE_EXHAUSTED", err)
			}
		})
	}
}

// fhirNever fails the test's FHIR calls that get past the size check.
type fhirNever struct{}

func (fhirNever) Submit(context.Context, fhirdoor.Request, []byte) (*fhirdoor.Message, pipeline.Outcome) {
	return nil, pipeline.Outcome{Status: pipeline.Refused}
}
