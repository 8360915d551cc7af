package sendonce

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/ingest/mllp"
)

const ack = "MSH|^~\\&|GW|F|A|B|20240101||ACK^A01^ACK|1|P|2.5\rMSA|AE|MSG1|bad\r"

// serve answers every frame with answer and returns the listener's address.
func serve(t *testing.T, answer string) string {
	t.Helper()
	return Serve(t, Listen(t), mllp.NewServer("t", mllp.ServerConfig{}, mllp.HandlerFunc(func(context.Context, mllp.ConnInfo, []byte) []byte {
		return []byte(answer)
	}), nil))
}

func TestExchange(t *testing.T) {
	tests := []struct {
		name     string
		answer   string
		addr     func(t *testing.T) string
		wantCode string
		wantErr  string
	}{
		{"an answer is read as an ACK", ack, nil, "AE", ""},
		{"an answer that is no ACK is an error naming it", "MSH|^~\\&|GW\r", nil, "", "answer"},
		{"a closed port is a dial error", "", func(t *testing.T) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			return addr
		}, "", "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := ""
			if tt.addr != nil {
				addr = tt.addr(t)
			} else {
				addr = serve(t, tt.answer)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			info, err := ExchangeACK(ctx, addr, nil, []byte("MSH|^~\\&|A|B|GW|F|20240101||ADT^A01|MSG1|P|2.5\r"))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || info.Code != tt.wantCode || info.ControlID != "MSG1" {
				t.Fatalf("ExchangeACK = %+v, %v; want %s for MSG1", info, err, tt.wantCode)
			}
		})
	}
}

func TestACKAndRawReturnTheAnswer(t *testing.T) {
	addr := serve(t, ack)
	msg := []byte("MSH|^~\\&|A|B|GW|F|20240101||ADT^A01|MSG1|P|2.5\r")
	if info := ACK(t, addr, msg); info.Code != "AE" || info.Text != "bad" {
		t.Errorf("ACK = %+v", info)
	}
	if raw := Raw(t, addr, msg); string(raw) != ack {
		t.Errorf("Raw = %q", raw)
	}
}
