package hl7door_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/hl7/conformance"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/internal/sendonce"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/router"
)

// answerDoors are MLLP servers in front of HL7 doors that share one
// producer and one kfake broker. Each message type goes to its own topic,
// and the broker fails some of them on purpose: hl7.adt.a02 is not
// authorized, hl7.adt.a03 lacks replicas, hl7.adt.a04 does not exist and
// hl7.adt.a05 times out.
type answerDoors struct {
	main, refuse, paused, limited, dedup string // MLLP addresses
}

func newAnswerDoors(t *testing.T) answerDoors {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "hl7.adt.a01", "hl7.adt.a02", "hl7.adt.a03", "hl7.adt.a05", "hl7.ack", "hl7.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	produce := []kmsg.Key{kmsg.Produce}
	cluster.Fault(
		kfake.Fault{Keys: produce, Topic: "hl7.adt.a02", Err: kerr.TopicAuthorizationFailed, Count: -1},
		kfake.Fault{Keys: produce, Topic: "hl7.adt.a03", Err: kerr.NotEnoughReplicas, Count: -1},
		kfake.Fault{Keys: produce, Topic: "hl7.adt.a05", Err: kerr.RequestTimedOut, Count: -1},
	)
	k := config.Default().Kafka
	k.Producer.DeliveryTimeout = 2 * time.Second
	k.Producer.RequestTimeout = time.Second
	k.Producer.MaxBatchBytes = 4096
	prod, err := publish.New(context.Background(), k, cluster.ListenAddrs(), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	v, err := conformance.New(conformance.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	steps := hl7door.NewSteps(hl7door.StepsConfig{Connector: "t", Validator: v})
	cfg := pipeline.Config{Connector: "t", ValidationEnabled: true, DLQTopic: "hl7.dlq", ContentType: router.ContentTypeHL7}
	mainP := pipeline.New(cfg, steps, prod, nil)
	refuseCfg, limitedCfg := cfg, cfg
	refuseCfg.Tolerance = pipeline.ToleranceNone
	limitedCfg.MaxInFlight = 1
	pausedP := pipeline.New(cfg, steps, prod, nil)
	pausedP.SetPaused(true)
	dd := hl7door.NewDedup(hl7door.DedupConfig{}, "t", prometheus.NewRegistry())
	return answerDoors{
		main:    serveMLLP(t, hl7door.NewDoor(mainP, nil)),
		refuse:  serveMLLP(t, hl7door.NewDoor(pipeline.New(refuseCfg, steps, prod, nil), nil)),
		paused:  serveMLLP(t, hl7door.NewDoor(pausedP, nil)),
		limited: serveMLLP(t, hl7door.NewDoor(pipeline.New(limitedCfg, steps, prod, nil), nil)),
		dedup:   serveMLLP(t, hl7door.NewDoor(mainP, nil, hl7door.WithDedup(dd))),
	}
}

// serveMLLP serves d on a loopback MLLP listener and returns its address.
func serveMLLP(t *testing.T, d *hl7door.Door) string {
	t.Helper()
	return sendonce.Serve(t, sendonce.Listen(t), mllp.NewServer("t", mllp.ServerConfig{}, mllp.HandlerFunc(func(ctx context.Context, _ mllp.ConnInfo, p []byte) []byte {
		ack, _ := d.SubmitHL7(ctx, append([]byte(nil), p...))
		return ack
	}), nil))
}

// answerMessage is an ADT message from LAB at HOSP (Latin-1, MSH-18
// 8859/1) to GW at CENTRAL; mode is MSH-15 ("" for original mode).
func answerMessage(typ, id, proc, version, mode, tail string) []byte {
	return []byte(fmt.Sprintf("MSH|^~\\&|LAB|HOSP|GW|CENTRAL|20240101120000||%s|%s|%s|%s|||%s|||8859/1\r"+
		"EVN|A01|20240101120000\rPID|1||123^^^H||M\xdcLLER^J\xd6RG\rPV1|1|I\r%s", typ, id, proc, version, mode, tail))
}

// TestEveryAnswerCanBeMatched walks every outcome the HL7 door answers,
// over real MLLP, in original and enhanced mode, and checks that each ACK
// echoes MSH-10 in MSA-2, swaps sender and receiver, keeps the version and
// the charset, and names its cause in the first of at most 5 ERR segments.
func TestEveryAnswerCanBeMatched(t *testing.T) {
	doors := newAnswerDoors(t)
	big := "NTE|1||" + strings.Repeat("x", 5000) + "\r"
	cases := []struct {
		name      string
		door      func(answerDoors) string
		typ, proc string
		tail      string
		want      string // original mode; enhanced is C + want[1:]
		wantErr   string // first ERR code; "" = no ERR segment
	}{
		{"a stored message is accepted", mainDoor, "ADT^A01", "P", "", "AA", ""},
		{"an invalid message is kept in the DLQ and answered AE", mainDoor, "ADT^A01", "P", "QQQ|1\r", "AE", "100"},
		{"an invalid message refused with errors.tolerance=none is answered AE", refuseDoor, "ADT^A01", "P", "QQQ|1\r", "AE", "100"},
		{"a message without a type is answered AE and still matched", mainDoor, "", "P", "", "AE", "101"},
		{"an unsupported processing id is answered AR", mainDoor, "ADT^A01", "Q", "", "AR", "202"},
		{"a message larger than Kafka takes is answered AE", mainDoor, "ADT^A01", "P", big, "AE", "104"},
		{"a paused connector answers AR", pausedDoor, "ADT^A01", "P", "", "AR", "207"},
		{"a topic the gateway may not write is answered AR", mainDoor, "ADT^A02", "P", "", "AR", "207"},
		{"not enough replicas is answered AR", mainDoor, "ADT^A03", "P", "", "AR", "207"},
		{"an unknown topic is answered AR", mainDoor, "ADT^A04", "P", "", "AR", "207"},
		{"a broker timeout is answered AR", mainDoor, "ADT^A05", "P", "", "AR", "207"},
		{"a resend of a stored message is answered AA from memory", dedupDoor, "ADT^A01", "P", "", "AA", ""},
	}
	for _, enhanced := range []bool{false, true} {
		version, mode := "2.3.1", ""
		if enhanced {
			version, mode = "2.6", "AL"
		}
		for i, c := range cases {
			t.Run(fmt.Sprintf("%s (%s)", c.name, modeName(enhanced)), func(t *testing.T) {
				t.Parallel()
				id := fmt.Sprintf("ID-%s-%d", modeName(enhanced), i)
				raw := answerMessage(c.typ, id, c.proc, version, mode, c.tail)
				addr := c.door(doors)
				if addr == doors.dedup {
					sendonce.Raw(t, addr, raw) // the first copy
				}
				want := c.want
				if enhanced {
					want = "C" + want[1:]
				}
				checkAnswer(t, sendonce.Raw(t, addr, raw), id, version, want, c.wantErr)
			})
		}
	}
	t.Run("an overloaded connector answers AR", func(t *testing.T) {
		t.Parallel()
		// A05 holds the one in-flight slot until the broker times out
		// (about 2 s); the holder sends it again as soon as it is answered,
		// so the slot stays taken however slowly this machine runs the
		// probes below.
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := 0; ; h++ {
				select {
				case <-stop:
					return
				default:
				}
				sendonce.Raw(t, doors.limited, answerMessage("ADT^A05", fmt.Sprintf("HOLD-%d", h), "P", "2.5", "", ""))
			}
		}()
		defer wg.Wait()
		defer close(stop)
		deadline := time.Now().Add(30 * time.Second)
		for n := 0; time.Now().Before(deadline); n++ {
			id := fmt.Sprintf("OVER-%d", n)
			ack := sendonce.Raw(t, doors.limited, answerMessage("ADT^A01", id, "P", "2.5", "", ""))
			if info, _ := hl7.ParseACK(ack); info.Code == "AA" {
				time.Sleep(20 * time.Millisecond) // the held message is not in flight yet
				continue
			}
			checkAnswer(t, ack, id, "2.5", "AR", "207")
			if !strings.Contains(string(ack), "overloaded") {
				t.Errorf("ack %q does not name the reason", ack)
			}
			return
		}
		t.Fatal("the connector never answered overloaded")
	})
}

func mainDoor(d answerDoors) string   { return d.main }
func refuseDoor(d answerDoors) string { return d.refuse }
func pausedDoor(d answerDoors) string { return d.paused }
func dedupDoor(d answerDoors) string  { return d.dedup }

func modeName(enhanced bool) string {
	if enhanced {
		return "enhanced"
	}
	return "original"
}

// checkAnswer asserts MSA-1, MSA-2, MSH-3..6, MSH-12, MSH-18 and the ERR
// segments of an ACK to a message from answerMessage.
func checkAnswer(t *testing.T, ack []byte, id, version, wantCode, wantErr string) {
	t.Helper()
	info, err := hl7.ParseACK(ack)
	if err != nil {
		t.Fatalf("ack %q: %v", ack, err)
	}
	if info.Code != wantCode || info.ControlID != id {
		t.Fatalf("MSA-1 %q MSA-2 %q, want %s %s; ack %q", info.Code, info.ControlID, wantCode, id, ack)
	}
	m, err := hl7.Parse(ack)
	if err != nil {
		t.Fatal(err)
	}
	msh := m.MSH()
	got := []string{msh.Field(3).String(), msh.Field(4).String(), msh.Field(5).String(), msh.Field(6).String(),
		msh.Field(12).String(), msh.Field(18).String()}
	want := []string{"GW", "CENTRAL", "LAB", "HOSP", version, "8859/1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("MSH-3,4,5,6,12,18 = %q, want %q", got, want)
	}
	if len(info.ErrorCodes) > hl7door.DefaultACKMaxErrors {
		t.Errorf("%d ERR entries, want at most %d", len(info.ErrorCodes), hl7door.DefaultACKMaxErrors)
	}
	switch {
	case wantErr == "" && len(info.ErrorCodes) > 0:
		t.Errorf("ERR codes %v in a positive answer, want none", info.ErrorCodes)
	case wantErr != "" && (len(info.ErrorCodes) == 0 || info.ErrorCodes[0] != wantErr):
		t.Errorf("ERR codes %v, want %s first; ack %q", info.ErrorCodes, wantErr, ack)
	}
}

// TestABatchToAPausedConnectorAnswersEachMessage: every message of a batch
// gets its own AR, matched by MSA-2, inside the answering batch.
func TestABatchToAPausedConnectorAnswersEachMessage(t *testing.T) {
	doors := newAnswerDoors(t)
	raw := "FHS|^~\\&|LAB|HOSP|GW|CENTRAL|20240101||||F1\rBHS|^~\\&|LAB|HOSP|GW|CENTRAL|20240101||||B1\r" +
		string(answerMessage("ADT^A01", "B-1", "P", "2.5", "", "")) + string(answerMessage("ADT^A01", "B-2", "P", "2.5", "", "")) +
		"BTS|2\rFTS|1\r"
	ack := string(sendonce.Raw(t, doors.paused, []byte(raw)))
	if !strings.HasPrefix(ack, "FHS|^~\\&|GW|CENTRAL|LAB|HOSP|") || !strings.Contains(ack, "\rBHS|^~\\&|GW|CENTRAL|LAB|HOSP|") {
		t.Fatalf("batch answer %q: FHS/BHS must swap sender and receiver", ack)
	}
	var msas []string
	for _, seg := range strings.Split(ack, "\r") {
		if strings.HasPrefix(seg, "MSA|") {
			msas = append(msas, strings.Join(strings.Split(seg, "|")[:3], "|"))
		}
	}
	if strings.Join(msas, " ") != "MSA|AR|B-1 MSA|AR|B-2" {
		t.Fatalf("MSA segments %q, want one AR per message with its control id", msas)
	}
}

// TestABatchThatCannotBeSplitIsAnsweredInItsFirstMessagesTerms: a batch
// whose envelope is broken (a BHS nested in an open batch) is stored in the
// dead-letter topic and answered AE; the answer names the first message's
// control id in MSA-2 and swaps its sender and receiver, rather than
// leaving MSA-2 empty.
func TestABatchThatCannotBeSplitIsAnsweredInItsFirstMessagesTerms(t *testing.T) {
	doors := newAnswerDoors(t)
	raw := "BHS|^~\\&|LAB|HOSP|GW|CENTRAL|20240101||||B1\r" + string(answerMessage("ADT^A01", "NEST-1", "P", "2.5", "", "")) +
		"BHS|^~\\&|LAB|HOSP|GW|CENTRAL|20240101||||B2\r" + string(answerMessage("ADT^A01", "NEST-2", "P", "2.5", "", "")) + "BTS|2\r"
	checkAnswer(t, sendonce.Raw(t, doors.main, []byte(raw)), "NEST-1", "2.5", "AE", "100")
}

// TestCorpusACKsFitOneRead answers the whole valid corpus with lenient
// validation, as a default connector does, and with every warning turned
// into an ERR segment (hl7.ack.warnings.enabled, 50 at most): each
// answer must fit the 4 KB a simple client reads at once, and by default
// an AA carries no ERR at all.
func TestCorpusACKsFitOneRead(t *testing.T) {
	entries := corpus.Select(t, corpus.HL7, corpus.Valid)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	prod, err := publish.New(context.Background(), config.Default().Kafka, cluster.ListenAddrs(), prometheus.NewRegistry(),
		slog.New(slog.DiscardHandler), publishAutoCreate()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	v, err := conformance.New(conformance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.Config{Connector: "t", ValidationEnabled: true, DLQTopic: "hl7.dlq", ContentType: router.ContentTypeHL7}
	p := pipeline.New(cfg, hl7door.NewSteps(hl7door.StepsConfig{Connector: "t", Validator: v}), prod, nil)
	for _, policy := range []hl7door.ACKPolicy{{}, {Warnings: true, MaxErrors: 50}} {
		d := hl7door.NewDoor(p, nil, hl7door.WithACKPolicy(policy))
		largest, errs := 0, 0
		for _, e := range entries {
			raw := e.Read(t)
			ack, _ := d.SubmitHL7(context.Background(), raw)
			largest = max(largest, len(ack))
			if len(ack) > hl7.MaxACKBytes {
				t.Errorf("%s (%+v): ACK of %d bytes", e.File, policy, len(ack))
			}
			if hl7.IsBatch(raw) || len(ack) == 0 {
				continue
			}
			info, err := hl7.ParseACK(ack)
			if err != nil {
				t.Fatalf("%s: %v", e.File, err)
			}
			errs = max(errs, len(info.ErrorCodes))
			if !policy.Warnings && (info.Code == "AA" || info.Code == "CA") && len(info.ErrorCodes) > 0 {
				t.Errorf("%s: %s with %d ERR segments, want none by default", e.File, info.Code, len(info.ErrorCodes))
			}
		}
		t.Logf("policy %+v: %d files, largest answer %d bytes, at most %d ERR in one ACK", policy, len(entries), largest, errs)
	}
}
