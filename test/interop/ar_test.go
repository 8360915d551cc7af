package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/sendonce"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// arMessage is a Latin-1 message from LAB at HOSP to GW at CENTRAL; typ is
// MSH-9 and mode MSH-15.
func arMessage(typ, id, version, mode string) []byte {
	return []byte(fmt.Sprintf("MSH|^~\\&|LAB|HOSP|GW|CENTRAL|20240101120000||%s|%s|P|%s|||%s|||8859/1\r"+
		"EVN|A01|20240101120000\rPID|1||123^^^H||M\xdcLLER^J\xd6RG\rPV1|1|I\r", typ, id, version, mode))
}

// TestErrorAnswersOfTheRunningGatewayCanBeMatched: a paused connector
// (PUT /connectors/{name}/pause) and a message without a type are
// answered AR/CR and AE/CE by the real gateway with MSA-2 = MSH-10, sender
// and receiver swapped, the inbound version and charset, and the cause in
// the first ERR; python-hl7 reads the paused AR too.
func TestErrorAnswersOfTheRunningGatewayCanBeMatched(t *testing.T) {
	connectorState(t, "paused", "pause")
	defer connectorState(t, "paused", "resume")
	cases := []struct {
		name, addr, typ, version, mode, code, err string
	}{
		{"a paused connector answers AR", gw.pausedAddr, "ADT^A01", "2.3.1", "", "AR", "207"},
		{"a paused connector answers CR in enhanced mode", gw.pausedAddr, "ADT^A01", "2.6", "AL", "CR", "207"},
		{"a message without a type is answered AE", gw.mllpAddr, "", "2.5", "", "AE", "101"},
		{"a message without a type is answered CE in enhanced mode", gw.mllpAddr, "", "2.8", "AL", "CE", "101"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("AR-%d-%d", i, time.Now().UnixNano())
			ack := mllpSend(t, c.addr, arMessage(c.typ, id, c.version, c.mode))
			info, err := hl7.ParseACK(ack)
			if err != nil {
				t.Fatalf("ack %q: %v", ack, err)
			}
			if info.Code != c.code || info.ControlID != id || len(info.ErrorCodes) == 0 || info.ErrorCodes[0] != c.err {
				t.Fatalf("MSA-1 %s MSA-2 %q ERR %v, want %s %s ERR %s first; ack %q", info.Code, info.ControlID, info.ErrorCodes, c.code, id, c.err, ack)
			}
			m, err := hl7.Parse(ack)
			if err != nil {
				t.Fatal(err)
			}
			msh := m.MSH()
			got := strings.Join([]string{msh.Field(3).String(), msh.Field(4).String(), msh.Field(5).String(),
				msh.Field(6).String(), msh.Field(12).String(), msh.Field(18).String()}, "|")
			if want := "GW|CENTRAL|LAB|HOSP|" + c.version + "|8859/1"; got != want {
				t.Errorf("MSH-3,4,5,6,12,18 = %s, want %s", got, want)
			}
		})
	}
	t.Run("python-hl7 reads the AR of a paused connector", func(t *testing.T) {
		needClients(t)
		file := filepath.Join(t.TempDir(), "paused.hl7")
		if err := os.WriteFile(file, arMessage("ADT^A01", "PY-PAUSED", "2.5", ""), 0o600); err != nil {
			t.Fatal(err)
		}
		host, port, _ := net.SplitHostPort(gw.pausedAddr)
		out := runClient(t, clients.python, "clients.py", "mllp", host, port, file)
		var l pyLine
		if err := json.Unmarshal(out, &l); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if l.Error != "" || len(l.Acks) != 1 || l.Acks[0].Code != "AR" || l.Acks[0].ID != "PY-PAUSED" || l.Acks[0].Charset != "8859/1" {
			t.Fatalf("python-hl7 read %+v, want one AR for PY-PAUSED in 8859/1", l)
		}
	})
}

// connectorState PUTs /connectors/{name}/{action} (pause or resume).
func connectorState(t *testing.T, name, action string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://"+gw.HTTPAddr+"/connectors/"+name+"/"+action, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT /connectors/%s/%s: %s", name, action, resp.Status)
	}
}

// mllpSend sends one frame on a new connection and returns the answer,
// failing the test when the answer carries patient data.
func mllpSend(t *testing.T, addr string, raw []byte) []byte {
	t.Helper()
	ack := sendonce.Raw(t, addr, raw)
	if strings.Contains(string(ack), "\xdc") {
		t.Errorf("patient data in the answer: %q", ack)
	}
	return ack
}

// TestPausedRESTAndGRPCAnswersCanBeMatched: POST /v1/hl7 and SubmitHL7 of
// paused connectors answer 503 / UNAVAILABLE with an AR that echoes MSA-2
// and swaps sender and receiver, like the MLLP door.
func TestPausedRESTAndGRPCAnswersCanBeMatched(t *testing.T) {
	for _, name := range []string{"rest", "grpc"} {
		connectorState(t, name, "pause")
		defer connectorState(t, name, "resume")
	}
	check := func(t *testing.T, ack []byte, id string) {
		t.Helper()
		info, err := hl7.ParseACK(ack)
		if err != nil || info.Code != "AR" || info.ControlID != id {
			t.Fatalf("ack %q: %+v %v, want AR with MSA-2 %s", ack, info, err, id)
		}
		if !strings.HasPrefix(string(ack), "MSH|^~\\&|GW|CENTRAL|LAB|HOSP|") {
			t.Errorf("ack %q does not swap sender and receiver", ack)
		}
	}
	t.Run("POST /v1/hl7 answers 503 with a matched AR", func(t *testing.T) {
		resp, err := http.Post("http://"+gw.HTTPAddr+"/v1/hl7", "application/hl7-v2", bytes.NewReader(arMessage("ADT^A01", "REST-1", "2.5", "")))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %s, want 503; body %q", resp.Status, body)
		}
		check(t, body, "REST-1")
	})
	t.Run("SubmitHL7 answers UNAVAILABLE with a matched AR", func(t *testing.T) {
		cc, err := grpc.NewClient(gw.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err = gatewayv1.NewGatewayServiceClient(cc).SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: arMessage("ADT^A01", "GRPC-1", "2.5", "")})
		st := status.Convert(err)
		if st.Code() != codes.Unavailable {
			t.Fatalf("status %v, want UNAVAILABLE", err)
		}
		for _, d := range st.Details() {
			if r, ok := d.(*gatewayv1.SubmitHL7Response); ok {
				check(t, r.GetAck(), "GRPC-1")
				return
			}
		}
		t.Fatalf("no SubmitHL7Response with the ACK in the status details: %v", st.Details())
	})
}
