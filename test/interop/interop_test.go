package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unparseableByHAPI lists the corpus files HAPI's own parser refuses, so
// that its initiator cannot send them at all (python-hl7 sends them).
var unparseableByHAPI = map[string]string{
	"hapijava-EscapeTest-L89.hl7": "MSH-9 is ORU alone: HAPI cannot choose a message structure",
}

// positive reports whether code is a positive answer: every message of
// the valid corpus is stored.
func positive(code string) bool { return code == "AA" || code == "CA" }

// sent counts the messages the corpus senders had stored (answered AA/CA,
// or silent because MSH-15 asked for no answer to a success), so that the
// CloudEvents reader knows how many records to expect.
type sent struct{ stored int }

// TestRealClients sends the corpus with python-hl7, then with HAPI, then
// reads every record with the CloudEvents SDK: one gateway, in order.
func TestRealClients(t *testing.T) {
	needClients(t)
	var s sent
	t.Run("python-hl7's MLLPClient sends the corpus and every ACK matches by MSA-2", func(t *testing.T) { pythonHL7(t, &s) })
	t.Run("HAPI's initiator sends the corpus and every ACK matches by MSA-2", func(t *testing.T) { hapi(t, &s) })
	t.Run("the CloudEvents SDK's Kafka binding reads every record", func(t *testing.T) { cloudEvents(t, s) })
}

// pyLine is one line of clients.py mllp.
type pyLine struct {
	File     string `json:"file"`
	Batch    bool   `json:"batch"`
	Messages []struct {
		ID       string   `json:"id"`
		Mode     string   `json:"mode"`
		ReplyMSH []string `json:"reply_msh"` // its MSH-5, 6, 3, 4, 12: what the ACK's MSH-3, 4, 5, 6, 12 must be
	} `json:"messages"`
	Acks []struct {
		Code    string   `json:"code"`
		ID      string   `json:"id"`
		MSH     []string `json:"msh"`
		Charset string   `json:"charset"`
	} `json:"acks"`
	AnswerBytes int    `json:"answer_bytes"`
	Error       string `json:"error"`
}

func pythonHL7(t *testing.T, s *sent) {
	files := validCorpus(t)
	host, port, _ := net.SplitHostPort(gw.mllpAddr)
	out := runClient(t, clients.python, append([]string{"clients.py", "mllp", host, port}, files...)...)
	lines := 0
	answered, silent, largest := 0, 0, 0
	for _, raw := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var l pyLine
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("line %q: %v", raw, err)
		}
		lines++
		if l.Error != "" {
			t.Errorf("%s: %s", l.File, l.Error)
			continue
		}
		if l.Acks == nil {
			if l.Batch || len(l.Messages) == 0 || (l.Messages[0].Mode != "NE" && l.Messages[0].Mode != "ER") {
				t.Errorf("%s: no answer, but MSH-15 %q asks for one", l.File, modeOf(l))
			}
			silent++
			s.stored += len(l.Messages)
			continue
		}
		answered++
		largest = max(largest, l.AnswerBytes)
		want, wantMSH := wantedAnswers(l)
		if len(l.Acks) != len(want) {
			t.Errorf("%s: %d ACKs, want %d", l.File, len(l.Acks), len(want))
			continue
		}
		for i, a := range l.Acks {
			if strings.Join(a.MSH, "|") != strings.Join(wantMSH[i], "|") {
				t.Errorf("%s: ACK %d has MSH-3,4,5,6,12 %q, want %q", l.File, i, a.MSH, wantMSH[i])
			}
			if a.ID != want[i] || !positive(a.Code) {
				t.Errorf("%s: ACK %d is %s for MSA-2 %q, want AA/CA for %q", l.File, i, a.Code, a.ID, want[i])
			}
			s.stored++
		}
		s.stored += len(l.Messages) - len(want) // silent members of a batch
	}
	if lines != len(files) {
		t.Fatalf("%d result lines for %d files", lines, len(files))
	}
	t.Logf("python-hl7: %d files, %d answered (largest answer %d bytes), %d rightly silent (MSH-15 NE/ER)", len(files), answered, largest, silent)
}

// wantedAnswers lists the MSA-2 values a file's answer must carry: every
// message that wants an answer to a success (MSH-15 absent, AL or SU),
// and the MSH-3, 4, 5, 6, 12 each of those answers must have.
func wantedAnswers(l pyLine) (ids []string, msh [][]string) {
	for _, m := range l.Messages {
		if m.Mode != "NE" && m.Mode != "ER" {
			ids = append(ids, m.ID)
			msh = append(msh, m.ReplyMSH)
		}
	}
	return ids, msh
}

func modeOf(l pyLine) string {
	if len(l.Messages) == 0 {
		return ""
	}
	return l.Messages[0].Mode
}

func hapi(t *testing.T, s *sent) {
	files := validCorpus(t)
	host, port, _ := net.SplitHostPort(gw.mllpAddr)
	out := runClient(t, "java", append([]string{"-cp", clients.hapiCP, "HapiSend", host, port}, files...)...)
	answered, silent, refused := 0, 0, 0
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		seen[f[0]] = true
		switch {
		case len(f) >= 10 && f[1] == "ACK":
			answered++
			if f[4] != f[2] || !positive(f[3]) {
				t.Errorf("%s: ACK %s with MSA-2 %q for MSH-10 %q", f[0], f[3], f[4], f[2])
			}
			s.stored++
		case len(f) >= 3 && f[1] == "NOANSWER":
			silent++
			s.stored++
		case len(f) >= 3 && f[1] == "ERROR" && unparseableByHAPI[filepath.Base(f[0])] != "":
			refused++
		default:
			t.Errorf("HAPI: %s", sc.Text())
		}
	}
	if len(seen) != len(files) {
		t.Fatalf("HAPI reported on %d of %d files", len(seen), len(files))
	}
	if refused != len(unparseableByHAPI) {
		t.Errorf("HAPI's parser refused %d files, want exactly %d (%v)", refused, len(unparseableByHAPI), unparseableByHAPI)
	}
	t.Logf("HAPI: %d files, %d messages answered, %d rightly silent (MSH-15 NE/ER), %d its parser refuses", len(files), answered, silent, refused)
}

// ceLine is one line of clients.py consume.
type ceLine struct {
	Summary     bool   `json:"summary"`
	Records     int    `json:"records"`
	Errors      int    `json:"errors"`
	Topic       string `json:"topic"`
	ID          string `json:"id"`
	Source      string `json:"source"`
	Type        string `json:"type"`
	Key         string `json:"key"`
	Facility    string `json:"facility"`
	Application string `json:"application"`
	DataEqual   bool   `json:"data_equal"`
	Error       string `json:"error"`
}

func cloudEvents(t *testing.T, s sent) {
	if s.stored == 0 {
		t.Fatal("the senders stored nothing")
	}
	out := runClient(t, clients.python, "clients.py", "consume", gw.KafkaAddr, fmt.Sprint(s.stored))
	var sum ceLine
	latin := map[string]ceLine{} // by application
	for _, raw := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var l ceLine
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("line %q: %v", raw, err)
		}
		switch {
		case l.Summary:
			sum = l
		case l.Error != "":
			t.Errorf("record of %s: %s", l.Topic, l.Error)
		case !l.DataEqual:
			t.Errorf("record %s %s: the event data differs from the record value", l.Source, l.ID)
		case l.Facility == "SANKT JÜRGEN":
			latin[l.Application] = l
		}
	}
	if sum.Records != s.stored || sum.Errors != 0 {
		t.Fatalf("read %d records (%d unreadable), want %d, one per stored message", sum.Records, sum.Errors, s.stored)
	}
	küche, labor := latin["KÜCHE"], latin["LABOR"]
	if küche.ID == "" || labor.ID == "" {
		t.Fatalf("the Latin-1 records were not read with decoded headers: %+v", latin)
	}
	if küche.ID != labor.ID || küche.Source == labor.Source {
		t.Errorf("two applications of one facility, same control id: sources %q and %q must differ", küche.Source, labor.Source)
	}
	if küche.Key != "4711^^^SJÖ^PI" && küche.Key != "4711^^^SJÖ" {
		t.Errorf("key of the Latin-1 record = %q, want the decoded patient id", küche.Key)
	}
	t.Logf("CloudEvents SDK: %d records read, Latin-1 sources %q and %q", sum.Records, küche.Source, labor.Source)
}

// runClient runs a client in this directory and returns its standard
// output; a non-zero exit is reported with its output but does not stop
// the caller, which judges each line.
func runClient(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("%s exited: %v\n%s", name, err, stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within 2 minutes", name)
	}
	return out
}
