package hl7door_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/router"
	"github.com/hl7gw/gateway/validation"
)

func TestAckCode(t *testing.T) {
	errAt := func(c validation.Code) validation.Findings {
		return validation.Findings{{Severity: validation.SeverityError, Code: c, Location: "MSH-12"}}
	}
	tests := []struct {
		name     string
		out      pipeline.Outcome
		original string
		enhanced string
	}{
		{"a stored message is accepted", pipeline.Outcome{Status: pipeline.Accepted}, "AA", "CA"},
		{"a dead-lettered message is an application error", pipeline.Outcome{Status: pipeline.Invalid, Findings: errAt(101)}, "AE", "CE"},
		{"a refused message is an application error", pipeline.Outcome{Status: pipeline.Refused, Findings: errAt(102)}, "AE", "CE"},
		{"an unsupported version is rejected", pipeline.Outcome{Status: pipeline.Invalid, Findings: errAt(203)}, "AR", "CR"},
		{"an unsupported message type is rejected", pipeline.Outcome{Status: pipeline.Invalid, Findings: errAt(200)}, "AR", "CR"},
		{"an unsupported event is rejected", pipeline.Outcome{Status: pipeline.Refused, Findings: errAt(201)}, "AR", "CR"},
		{"an unsupported processing id is rejected", pipeline.Outcome{Status: pipeline.Invalid, Findings: errAt(202)}, "AR", "CR"},
		{"a message not stored is rejected so that it is resent", pipeline.Outcome{Status: pipeline.Unavailable, Reason: "timeout"}, "AR", "CR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hl7door.AckCode(tt.out, false); got != tt.original {
				t.Errorf("original mode = %s, want %s", got, tt.original)
			}
			if got := hl7door.AckCode(tt.out, true); got != tt.enhanced {
				t.Errorf("enhanced mode = %s, want %s", got, tt.enhanced)
			}
		})
	}
}

func newDoor(t *testing.T) *hl7door.Door {
	t.Helper()
	p, _ := newPipeline(t)
	return hl7door.NewDoor(p, nil)
}

// newPipeline is the HL7 pipeline of connector "t" publishing to a kfake
// broker whose addresses it returns.
func newPipeline(t *testing.T) (*pipeline.Pipeline[hl7door.Request, *hl7door.Parsed], []string) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "hl7.adt.a01", "hl7.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	prod, err := publish.New(context.Background(), config.Default().Kafka, cluster.ListenAddrs(), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	cfg := pipeline.Config{Connector: "t", ValidationEnabled: true, DLQTopic: "hl7.dlq", ContentType: router.ContentTypeHL7}
	return pipeline.New(cfg, hl7door.NewSteps(hl7door.StepsConfig{Connector: "t"}), prod, nil), cluster.ListenAddrs()
}

const msh = "MSH|^~\\&|SND|SFAC|RCV|RFAC|20240101120000||ADT^A01^ADT_A01|%s|P|2.5.1%s\rPID|1||123^^^H\r"

func message(id, enhanced string) []byte {
	tail := ""
	if enhanced != "" {
		tail = "|||" + enhanced
	}
	return []byte(strings.Replace(strings.Replace(msh, "%s", id, 1), "%s", tail, 1))
}

func TestEnhancedModeHonoursMSH15(t *testing.T) {
	d := newDoor(t)
	tests := []struct {
		name string
		mode string
		want string // "" = no answer
	}{
		{"AL answers a success with CA", "AL", "CA"},
		{"NE answers nothing", "NE", ""},
		{"ER answers nothing on success", "ER", ""},
		{"SU answers a success with CA", "SU", "CA"},
		{"no MSH-15 is original mode", "", "AA"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack, out := d.SubmitHL7(context.Background(), message("C"+string(rune('0'+i)), tt.mode))
			if out.Status != pipeline.Accepted {
				t.Fatalf("outcome %+v", out)
			}
			if tt.want == "" {
				if ack == nil || len(ack) != 0 {
					t.Fatalf("ack = %q, want empty (not nil)", ack)
				}
				return
			}
			info, err := hl7.ParseACK(ack)
			if err != nil || info.Code != tt.want {
				t.Fatalf("ack %q: %+v %v, want %s", ack, info, err, tt.want)
			}
		})
	}
}

func TestNoAnswerKeepsTheMLLPConnectionOpen(t *testing.T) {
	addr := serveMLLP(t, newDoor(t))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := mllp.WriteFrame(conn, message("NE1", "NE")); err != nil {
		t.Fatal(err)
	}
	if err := mllp.WriteFrame(conn, message("AL1", "AL")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	frame, err := mllp.NewReader(conn, 1<<20).ReadFrame()
	if err != nil {
		t.Fatalf("the connection did not stay open for the next message: %v", err)
	}
	info, err := hl7.ParseACK(frame)
	if err != nil || info.ControlID != "AL1" || info.Code != "CA" {
		t.Fatalf("first answer = %+v %v, want CA for AL1 (NE1 answered nothing)", info, err)
	}
}

func TestABatchIsAnsweredWithABatchOfACKs(t *testing.T) {
	d := newDoor(t)
	raw := "FHS|^~\\&|SND|SFAC|RCV|RFAC|20240101||||F1\rBHS|^~\\&|SND|SFAC|RCV|RFAC|20240101||||B1\r" +
		string(message("M1", "")) + "garbage line\r" + string(message("M2", "")) + "BTS|2\rFTS|1\r"
	ack, out := d.SubmitHL7(context.Background(), []byte(raw))
	if out.Status == 0 {
		t.Fatalf("no outcome")
	}
	segs := strings.Split(strings.TrimRight(string(ack), "\r"), "\r")
	if !strings.HasPrefix(segs[0], "FHS|^~\\&|RCV|RFAC|SND|SFAC|") || !strings.HasSuffix(segs[0], "|F1") {
		t.Fatalf("FHS = %q: sender and receiver must be swapped and FHS-12 must reference F1", segs[0])
	}
	if !strings.HasPrefix(segs[1], "BHS|^~\\&|RCV|RFAC|SND|SFAC|") || !strings.HasSuffix(segs[1], "|B1") {
		t.Fatalf("BHS = %q", segs[1])
	}
	if segs[len(segs)-2] != "BTS|2" || segs[len(segs)-1] != "FTS|1" {
		t.Fatalf("trailer = %q", segs[len(segs)-2:])
	}
	var msas []string
	for _, s := range segs {
		if strings.HasPrefix(s, "MSA|") {
			msas = append(msas, s)
		}
	}
	if len(msas) != 2 || !strings.HasPrefix(msas[0], "MSA|AA|M1") || !strings.HasPrefix(msas[1], "MSA|AA|M2") {
		t.Fatalf("MSA segments = %q", msas)
	}
}

// A bare "BHS" (no separators, no fields) still makes a batch; its answer
// must be one too, in the standard's separators, not a lone trailer.
func TestABatchWhoseHeaderHasNoFieldsIsAnsweredWithABatch(t *testing.T) {
	d := newDoor(t)
	ack, _ := d.SubmitHL7(context.Background(), []byte("BHS\r"+string(message("M1", ""))+"BTS|1\r"))
	b, err := hl7.SplitBatch(ack)
	if err != nil || len(b.Messages) != 1 || !strings.HasPrefix(string(ack), "BHS|^~\\&|") {
		t.Fatalf("answer %q: %v, want a batch of one ACK under a BHS with the standard separators", ack, err)
	}
	if info, err := hl7.ParseACK(b.Messages[0]); err != nil || info.ControlID != "M1" {
		t.Fatalf("ACK %+v, %v", info, err)
	}
}
