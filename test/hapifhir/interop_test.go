// Package hapifhir drives a real `gateway serve` process with HAPI FHIR's
// generic client (Java, Interop.java) using the client's default settings,
// validates the CapabilityStatement with HAPI's instance validator, and
// checks the records the run left on the embedded broker.
//
// The Java side is fetched and compiled by hapi.sh fetch (make test-deps).
// Without it the test skips, unless HAPIFHIR_REQUIRED=1 (make test), where
// it fails.
package hapifhir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// javaClasspath is hapi.sh's class path, or the reason there is none.
func javaClasspath(t *testing.T) string {
	t.Helper()
	need := func(format string, args ...any) {
		if os.Getenv("HAPIFHIR_REQUIRED") == "1" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+" (set HAPIFHIR_REQUIRED=1 to fail instead)", args...)
	}
	if _, err := exec.LookPath("java"); err != nil {
		need("java not found: the HAPI FHIR interop test needs a JDK 17+")
	}
	out, err := exec.Command("bash", "hapi.sh", "classpath").CombinedOutput()
	if err != nil {
		need("HAPI FHIR not installed: %s", bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out))
}

func TestHAPIFHIRGenericClientWithDefaultSettings(t *testing.T) {
	cp := javaClasspath(t)
	g := startGateway(t)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	java := exec.CommandContext(ctx, "java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx512m",
		"-cp", cp, "Interop", "http://"+g.HTTPAddr+"/fhir")
	var stderr bytes.Buffer
	java.Stderr = &stderr
	stdout, err := java.Output()
	facts := map[string]string{}
	checks := 0
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "ok "):
			checks++
			t.Log(line)
		case strings.HasPrefix(line, "FAIL "):
			checks++
			t.Error(line)
		case strings.HasPrefix(line, "fact "):
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "fact "), " ")
			facts[k] = v
		}
	}
	if err != nil {
		t.Errorf("Interop: %v\n%s", err, stderr.String())
	}
	if checks != 13 {
		t.Fatalf("Interop ran %d checks, want 13:\n%s\n%s", checks, stdout, stderr.String())
	}
	t.Logf("CapabilityStatement: %s resource types; HAPI validator: %s errors, %s warnings",
		facts["capability.resources"], facts["capability.validator.errors"], facts["capability.validator.warnings"])

	recs := records(t, g.KafkaAddr)
	checkCreateRecord(t, recs, facts)
	checkTransactionRecords(t, recs, facts)
	checkNothingRefusedWasWritten(t, recs)
}

type resource struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		VersionID   string `json:"versionId"`
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
	Name      []struct{ Family string } `json:"name"`
	Subject   struct{ Reference string }
	Encounter struct{ Reference string }
}

type record struct {
	*kgo.Record
	res resource
}

func (r record) header(k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// records reads every committed record of every topic on the broker.
func records(t *testing.T, broker string) []record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeRegex(), kgo.ConsumeTopics(`^(fhir|hl7)\..*`),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []record
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			rec := record{Record: r}
			if len(r.Value) > 0 && r.Topic != "fhir.dlq" {
				if err := json.Unmarshal(r.Value, &rec.res); err != nil {
					t.Errorf("%s record is not JSON: %v", r.Topic, err)
				}
			}
			out = append(out, rec)
		})
	}
	return out
}

func byTopic(recs []record, topic string) []record {
	var out []record
	for _, r := range recs {
		if r.Topic == topic {
			out = append(out, r)
		}
	}
	return out
}

// checkCreateRecord: the record of the plain create carries the id and
// version HAPI's client was answered with, in the value and the headers.
func checkCreateRecord(t *testing.T, recs []record, facts map[string]string) {
	t.Helper()
	id, vid := facts["create.id"], facts["create.version"]
	for _, r := range byTopic(recs, "fhir.patient.created") {
		if r.res.ID != id {
			continue
		}
		if r.res.Meta.VersionID != vid || r.header("fhir.version_id") != vid || r.header("fhir.id") != id || string(r.Key) != "Patient/"+id {
			t.Errorf("create record: meta.versionId %q, headers %q/%q, key %q; HAPI saw Patient/%s/_history/%s",
				r.res.Meta.VersionID, r.header("fhir.id"), r.header("fhir.version_id"), r.Key, id, vid)
		}
		if r.res.Meta.LastUpdated == "" {
			t.Error("create record has no meta.lastUpdated")
		}
		return
	}
	t.Errorf("no fhir.patient.created record with the id HAPI was given (%q)", id)
}

// checkTransactionRecords: the transaction's three records carry the ids
// HAPI was answered with, reference each other by them, share the
// patient's key and name their fullUrl.
func checkTransactionRecords(t *testing.T, recs []record, facts map[string]string) {
	t.Helper()
	want := map[string][2]string{} // topic -> Type/id, fullUrl
	for name, topic := range map[string]string{"patient": "fhir.patient.created", "encounter": "fhir.encounter.created", "observation": "fhir.observation.created"} {
		ref, full, _ := strings.Cut(facts["transaction."+name], " ")
		want[topic] = [2]string{ref, full}
	}
	patient, encounter := want["fhir.patient.created"][0], want["fhir.encounter.created"][0]
	found := 0
	for topic, w := range want {
		for _, r := range byTopic(recs, topic) {
			if r.res.ResourceType+"/"+r.res.ID != w[0] {
				continue
			}
			found++
			if r.header("fhir.full_url") != w[1] || string(r.Key) != patient {
				t.Errorf("%s: fhir.full_url %q (want %q), key %q (want %q)", w[0], r.header("fhir.full_url"), w[1], r.Key, patient)
			}
			if topic != "fhir.patient.created" && r.res.Subject.Reference != patient {
				t.Errorf("%s subject %q, want %q", w[0], r.res.Subject.Reference, patient)
			}
			if topic == "fhir.observation.created" && r.res.Encounter.Reference != encounter {
				t.Errorf("%s encounter %q, want %q", w[0], r.res.Encounter.Reference, encounter)
			}
		}
	}
	if found != 3 {
		t.Errorf("%d of the transaction's 3 records found (%v)", found, want)
	}
}

// checkNothingRefusedWasWritten: the patients of the refused requests
// (conditional create, versioned update, XML) left no record anywhere, the
// dead-letter topic included; the two invalid Observations (create, batch
// entry) are its only records.
func checkNothingRefusedWasWritten(t *testing.T, recs []record) {
	t.Helper()
	for _, r := range recs {
		for _, family := range []string{"Conditional", "Versioned", "Xml"} {
			if bytes.Contains(r.Value, []byte(`"`+family+`"`)) {
				t.Errorf("refused request (%s) written to %s", family, r.Topic)
			}
		}
	}
	if n := len(byTopic(recs, "fhir.patient.created")); n != 3 {
		t.Errorf("%d patient creates, want 3 (create, transaction, batch)", n)
	}
	if n := len(byTopic(recs, "fhir.dlq")); n != 2 {
		t.Errorf("%d dead-letter records, want 2 (the invalid Observation and the batch's invalid entry)", n)
	}
}
