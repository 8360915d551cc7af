package api

import (
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// DefaultStreamIdleTimeout is how long a StreamHL7 may stay silent by
// default, as long as an MLLP connection (mllp.idle.timeout).
const DefaultStreamIdleTimeout = 5 * time.Minute

// StreamHL7 answers each request of the stream in order, one at a time:
// a message is submitted only after the previous one has its outcome, so
// one stream's messages reach Kafka in the order sent. Content errors and
// unavailability are reported in the response's outcome and do not end the
// stream; it ends when the client closes its side (nil), the context ends,
// or a send fails.
//
// A stream whose client sends nothing for StreamIdleTimeout (counted from
// the last answer, or from the start) is ended with UNAVAILABLE, naming the
// timeout, so that it frees its place under grpc.max.concurrent.streams;
// every message it sent has been answered by then. A message larger than
// MaxBodyBytes ends the stream with RESOURCE_EXHAUSTED, as gRPC itself
// does for one past its receive limit.
func (s *Service) StreamHL7(stream grpc.BidiStreamingServer[gatewayv1.StreamHL7Request, gatewayv1.StreamHL7Response]) error {
	if s.hl7 == nil {
		return errNoHL7
	}
	ctx := stream.Context()
	in := newStreamReader(stream)
	defer in.stop()
	idle := time.NewTimer(s.opts.StreamIdleTimeout)
	defer idle.Stop()
	for seq := uint64(0); ; seq++ {
		idle.Reset(s.opts.StreamIdleTimeout)
		in.next()
		var got received
		select {
		case got = <-in.out:
		case <-idle.C:
			s.log.Info("stream closed idle", "method", "StreamHL7", "idle_timeout", s.opts.StreamIdleTimeout.String(), "answered", seq)
			return status.Errorf(codes.Unavailable, "StreamHL7 idle for %s (grpc.stream.idle.timeout): stream closed after %d answered messages; open a new stream to send more",
				s.opts.StreamIdleTimeout, seq)
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
		if errors.Is(got.err, io.EOF) {
			return nil
		}
		if got.err != nil {
			return got.err
		}
		if n := len(got.req.GetMessage()); int64(n) > s.opts.MaxBodyBytes {
			return status.Errorf(codes.ResourceExhausted, "message of %d bytes exceeds the limit of %d (grpc.max.message.bytes)", n, s.opts.MaxBodyBytes)
		}
		resp := &gatewayv1.StreamHL7Response{Sequence: seq}
		a := s.hl7.Answer(ctx, got.req.GetMessage())
		s.logOutcome("StreamHL7", "", a.Outcome)
		resp.Ack, resp.AckCode, resp.Outcome = a.ACK, a.Code, protoOutcome(a.Outcome)
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// received is one Recv result.
type received struct {
	req *gatewayv1.StreamHL7Request
	err error
}

// streamReader receives a stream's messages on a goroutine of its own, one
// per call of next, so that StreamHL7 can wait for the next message with a
// timeout without reading ahead of its answers. The goroutine ends after
// a Recv error or stop; a Recv blocked when the handler returns ends with
// the stream.
type streamReader struct {
	stream grpc.BidiStreamingServer[gatewayv1.StreamHL7Request, gatewayv1.StreamHL7Response]
	ask    chan struct{}
	out    chan received
}

func newStreamReader(stream grpc.BidiStreamingServer[gatewayv1.StreamHL7Request, gatewayv1.StreamHL7Response]) *streamReader {
	r := &streamReader{stream: stream, ask: make(chan struct{}), out: make(chan received, 1)}
	go r.run()
	return r
}

func (r *streamReader) run() {
	for range r.ask {
		req, err := r.stream.Recv()
		r.out <- received{req: req, err: err}
		if err != nil {
			return
		}
	}
}

// next asks for one more message, delivered on out.
func (r *streamReader) next() { r.ask <- struct{}{} }

// stop lets the goroutine end once its pending Recv, if any, returns.
func (r *streamReader) stop() { close(r.ask) }
