package hl7door_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/hl7/conformance"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/router"
)

var updateDoorGolden = flag.Bool("update-door-golden", false, "rewrite testdata/golden/door/*.hl7")

// strictDoor is a door with strict validation over a kfake broker.
func strictDoor(t *testing.T) *hl7door.Door {
	t.Helper()
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
	v, err := conformance.New(conformance.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.Config{Connector: "t", ValidationEnabled: true, DLQTopic: "hl7.dlq", ContentType: router.ContentTypeHL7}
	return hl7door.NewDoor(pipeline.New(cfg, hl7door.NewSteps(hl7door.StepsConfig{Connector: "t", Validator: v}), prod, nil), nil)
}

// normalise blanks MSH-7 and MSH-10 of an ACK (time and fresh control id).
func normalise(ack []byte) []byte {
	segs := bytes.Split(ack, []byte("\r"))
	f := bytes.Split(segs[0], []byte("|"))
	if len(f) > 9 {
		f[6], f[9] = []byte("<time>"), []byte("<ack-id>")
	}
	segs[0] = bytes.Join(f, []byte("|"))
	return bytes.Join(segs, []byte("\r"))
}

// TestACKGoldenForEveryErrorCode answers one message per table 0357 code
// the gateway uses, for v2.3 (ERR-1) and v2.5.1 (ERR-2/3/4), in original
// and enhanced mode, through the real door with strict validation, and
// compares the ACKs with golden files.
func TestACKGoldenForEveryErrorCode(t *testing.T) {
	d := strictDoor(t)
	const pid = "PID|1||123^^^H||DOE^JOHN\r"
	cases := []struct {
		name, typ, version, tail, body, code, ack string
	}{
		{"segment-sequence-100", "ADT^A01", "", "", "QQQ|1\r", "100", "AE"},
		{"required-missing-101", "ADT^A01", "", "", "", "101", "AE"},
		{"data-type-102", "ORU^R01", "", "", "OBR|1|||X^Y\rOBX|1|NM|X^Y||not-a-number||||||F\r", "102", "AE"},
		{"table-value-103", "ADT^A01", "", "", "", "103", "AE"},
		{"unsupported-type-200", "ZZQ^A01", "", "", "", "200", "AR"},
		{"unsupported-event-201", "ADT^Q99", "", "", "", "201", "AR"},
		{"unsupported-processing-id-202", "ADT^A01", "", "", "", "202", "AR"},
		{"unsupported-version-203", "ADT^A01", "9.9", "", "", "203", "AR"},
	}
	for _, version := range []string{"2.3", "2.5.1"} {
		for _, enhanced := range []bool{false, true} {
			for _, c := range cases {
				mode := "original"
				if enhanced {
					mode = "enhanced"
				}
				name := fmt.Sprintf("v%s-%s-%s", version, mode, c.name)
				t.Run(name, func(t *testing.T) {
					v := version
					if c.version != "" {
						v = c.version
					}
					ctl, proc := "CTL1", "P"
					switch c.code {
					case "101":
						ctl = ""
					case "202":
						proc = "Q"
					}
					msh := fmt.Sprintf("MSH|^~\\&|SND|SFAC|RCV|RFAC|20240101120000||%s|%s|%s|%s", c.typ, ctl, proc, v)
					switch {
					case c.code == "103" && enhanced:
						msh += "|||AL|ZZ" // MSH-16 not in table 0155
					case c.code == "103":
						msh += "||||ZZ"
					case enhanced:
						msh += "|||AL|NE"
					}
					raw := []byte(msh + "\r" + pid + c.body)
					ack, _ := d.SubmitHL7(context.Background(), raw)
					info, err := hl7.ParseACK(ack)
					if err != nil {
						t.Fatalf("ack %q: %v", ack, err)
					}
					want := c.ack
					if enhanced {
						want = "C" + want[1:]
					}
					if info.Code != want || len(info.ErrorCodes) == 0 || info.ErrorCodes[0] != c.code {
						t.Fatalf("ack %q: code %s errors %v, want %s with ERR code %s first", ack, info.Code, info.ErrorCodes, want, c.code)
					}
					got := normalise(ack)
					path := filepath.Join("testdata", "golden", "door", name+".hl7")
					if *updateDoorGolden {
						if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(path, got, 0o644); err != nil {
							t.Fatal(err)
						}
					}
					wantBytes, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("%v (run with -update-door-golden)", err)
					}
					if !bytes.Equal(got, wantBytes) {
						t.Fatalf("ACK differs from %s:\n got %q\nwant %q", path, got, wantBytes)
					}
					if strings.Contains(string(ack), "DOE") {
						t.Fatal("patient data in the ACK")
					}
				})
			}
		}
	}
}

func publishAutoCreate() []kgo.Opt { return []kgo.Opt{kgo.AllowAutoTopicCreation()} }
