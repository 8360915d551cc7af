package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// rawMarshaler is the REST door's only grpc-gateway marshaler: request
// bodies go into google.api.HttpBody untouched (FHIR JSON and HL7 bytes are
// published as received, never re-encoded) and HttpBody answers are written
// as they are. Other messages (none of the door's routes answer with one)
// fall back to protojson.
type rawMarshaler struct{}

var _ runtime.Marshaler = rawMarshaler{}

var errNotHTTPBody = errors.New("raw body: target is not a google.api.HttpBody")

// rawBody is the request body after the door's bounded read; the decoder
// takes its bytes without another copy.
type rawBody struct {
	data []byte
	off  int
}

func (b *rawBody) Read(p []byte) (int, error) {
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

func (b *rawBody) Close() error { return nil }

func (rawMarshaler) ContentType(v any) string {
	if hb, ok := v.(*httpbody.HttpBody); ok {
		return hb.GetContentType()
	}
	return "application/json"
}

func (rawMarshaler) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *httpbody.HttpBody:
		return m.GetData(), nil
	case proto.Message:
		return protojson.Marshal(m)
	default:
		return nil, fmt.Errorf("raw body: cannot marshal %T", v)
	}
}

func (rawMarshaler) Unmarshal(data []byte, v any) error {
	return setBody(v, data)
}

func (rawMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		if rb, ok := r.(*rawBody); ok {
			data := rb.data[rb.off:]
			rb.off = len(rb.data)
			return setBody(v, data)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("raw body: %w", err)
		}
		return setBody(v, data)
	})
}

func (m rawMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, bytes.NewReader(b))
		return err
	})
}

// setBody stores data in the HttpBody v points to (*HttpBody or
// **HttpBody, as grpc-gateway's generated code passes it).
func setBody(v any, data []byte) error {
	switch t := v.(type) {
	case **httpbody.HttpBody:
		if *t == nil {
			*t = &httpbody.HttpBody{}
		}
		(*t).Data = data
	case *httpbody.HttpBody:
		t.Data = data
	default:
		return errNotHTTPBody
	}
	return nil
}
