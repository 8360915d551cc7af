package scaleout_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/fhirgen"
)

// pauseBound is the README's bound for a pause on one instance to reach
// every other.
const pauseBound = 2 * time.Second

// answers records what the senders were told.
type answers struct {
	mu      sync.Mutex
	mllp    map[string]string // control id -> ACK code ("" = no answer)
	bundles map[string]int    // Bundle tag -> HTTP status (0 = transport error)
}

func (a *answers) setMLLP(id, code string) { a.mu.Lock(); a.mllp[id] = code; a.mu.Unlock() }
func (a *answers) setBundle(tag string, c int) {
	a.mu.Lock()
	a.bundles[tag] = c
	a.mu.Unlock()
}

// mllpSender streams ADT messages with unique control ids over one
// connection through addr until ctx ends, reconnecting after a failure.
func (a *answers) mllpSender(ctx context.Context, addr string, s int) {
	for n := 0; ctx.Err() == nil; n++ {
		id := fmt.Sprintf("SO%s.%d-%d", runID, s, n)
		code, err := sendOnce(addr, withControlID(id))
		if err != nil {
			code = ""
			time.Sleep(50 * time.Millisecond)
		}
		a.setMLLP(id, code)
	}
}

// bundleSender posts transaction Bundles through the balancer until ctx
// ends.
func (a *answers) bundleSender(ctx context.Context, base string, s int) {
	for n := 0; ctx.Err() == nil; n++ {
		tag := fmt.Sprintf("SB%s.%d-%d", runID, s, n)
		code, err := httpDo(http.MethodPost, base+"/fhir", fhirgen.PatientTransaction(tag+"-", txEntries, "Scale"))
		if err != nil {
			code = 0
			time.Sleep(50 * time.Millisecond)
		}
		a.setBundle(tag, code)
	}
}

func TestThreeGatewaysBehindHAProxySurviveAKillAndADrain(t *testing.T) {
	c := need(t)
	gws := []*gw{
		startGateway(t, "gw1", c.Brokers()),
		startGateway(t, "gw2", c.Brokers()),
		startGateway(t, "gw3", c.Brokers()),
	}
	lbMLLP, lbHTTP := startHAProxy(t, gws)

	t.Run("a pause on one instance reaches the others within the bound", func(t *testing.T) {
		checkPause(t, gws)
	})
	t.Run("a resend routed to another instance is not stored twice", func(t *testing.T) {
		id := "RESEND-" + runID
		msg := withControlID(id)
		for i, g := range gws[:2] {
			if i > 0 {
				// A resend follows an ACK timeout; engines wait seconds. One
				// second is past the window in which both copies can be
				// stored (README), even on a loaded machine.
				time.Sleep(time.Second)
			}
			if code, err := sendOnce(g.mllp, msg); err != nil || code != "AA" {
				t.Fatalf("copy %d on gw%d: %s %v", i+1, i+1, code, err)
			}
		}
		n := 0
		for _, r := range records(t, c, hl7Topic) {
			if header(r, "hl7.control_id") == id {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s stored %d times, want 1", id, n)
		}
	})

	a := &answers{mllp: map[string]string{}, bundles: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for s := range 4 {
		wg.Go(func() { a.mllpSender(ctx, lbMLLP, s) })
	}
	for s := range 2 {
		wg.Go(func() { a.bundleSender(ctx, "http://"+lbHTTP, s) })
	}
	time.Sleep(4 * time.Second)
	if err := gws[1].Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Log("gw2 SIGKILLed")
	time.Sleep(3 * time.Second)
	began := time.Now()
	if err := gws[2].Signal(t, syscall.SIGTERM, 45*time.Second); err != nil {
		t.Errorf("gw3 drained with %v, want exit 0", err)
	}
	t.Logf("gw3 drained in %s", time.Since(began).Round(time.Millisecond))
	time.Sleep(3 * time.Second)
	cancel()
	wg.Wait()
	// The SIGKILLed instance may have died inside a transaction, which then
	// holds back read_committed consumers until it times out. Restarted as
	// an operator would, with its state_dir (so its instance id), it
	// registers its transactional ids at start and Kafka aborts it at once.
	restarted := time.Now()
	gws[1].launch(t, "gw2 (restarted)")
	t.Logf("gw2 restarted in %s; open transactions settled %s after it", time.Since(restarted).Round(time.Millisecond),
		c.WaitStable(t, 90*time.Second, fhirTopic).Round(time.Millisecond))

	checkNothingLost(t, a)
	for _, g := range gws {
		for _, w := range []string{"PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH", "fenced", "instance id in use"} {
			if strings.Contains(g.Out.String(), w) {
				t.Errorf("%s logged %q", g.Name, w)
			}
		}
	}
}

// checkPause pauses hl7-mllp on gw1, waits until gw2 and gw3 answer AR,
// resumes on gw3 and waits until gw1 answers AA again.
func checkPause(t *testing.T, gws []*gw) {
	t.Helper()
	until := func(g *gw, want string, since time.Time) time.Duration {
		for n := 0; ; n++ {
			code, err := sendOnce(g.mllp, withControlID(fmt.Sprintf("PAUSE-%s-%s-%s-%d", runID, g.Name, want, n)))
			if err == nil && code == want {
				return time.Since(since)
			}
			if time.Since(since) > 10*pauseBound {
				t.Fatalf("%s still not answering %s after %s", g.Name, want, 10*pauseBound)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	began := time.Now()
	if code, err := httpDo(http.MethodPut, "http://"+gws[0].http+"/connectors/hl7-mllp/pause", nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("pause on gw1: %d %v", code, err)
	}
	d2, d3 := until(gws[1], "AR", began), until(gws[2], "AR", began)
	began = time.Now()
	if code, err := httpDo(http.MethodPut, "http://"+gws[2].http+"/connectors/hl7-mllp/resume", nil); err != nil || code != http.StatusAccepted {
		t.Fatalf("resume on gw3: %d %v", code, err)
	}
	d1 := until(gws[0], "AA", began)
	until(gws[1], "AA", began)
	t.Logf("pause on gw1 reached gw2 in %s, gw3 in %s; resume on gw3 reached gw1 in %s (bound %s)",
		d2.Round(time.Millisecond), d3.Round(time.Millisecond), d1.Round(time.Millisecond), pauseBound)
	for _, d := range []time.Duration{d2, d3, d1} {
		if d > pauseBound {
			t.Errorf("propagation took %s, above the bound %s", d, pauseBound)
		}
	}
}

// checkNothingLost is the invariant: every control id answered AA and
// every Bundle answered 200 is in Kafka (read_committed), every Bundle in
// Kafka is whole.
func checkNothingLost(t *testing.T, a *answers) {
	t.Helper()
	stored := map[string]int{}
	for _, r := range records(t, kc, hl7Topic) {
		stored[header(r, "hl7.control_id")]++
	}
	entries := map[string]map[int]bool{}
	for _, r := range records(t, kc, fhirTopic) {
		id, ok := strings.CutPrefix(string(r.Key), "Patient/")
		i := strings.LastIndexByte(id, '-')
		if !ok || i < 0 || !strings.HasPrefix(id, "SB"+runID+".") {
			continue
		}
		k, err := strconv.Atoi(id[i+1:])
		if err != nil {
			continue
		}
		if entries[id[:i]] == nil {
			entries[id[:i]] = map[int]bool{}
		}
		entries[id[:i]][k] = true
	}
	codes, statuses := map[string]int{}, map[int]int{}
	var lost, partial []string
	dups := 0
	for id, code := range a.mllp {
		codes[code]++
		if code == "AA" && stored[id] == 0 {
			lost = append(lost, id)
		}
		if stored[id] > 1 {
			dups++
		}
	}
	for tag, code := range a.bundles {
		statuses[code]++
		if code == http.StatusOK && len(entries[tag]) != txEntries {
			lost = append(lost, tag)
		}
	}
	for tag, ks := range entries {
		if len(ks) != txEntries {
			partial = append(partial, tag)
		}
	}
	t.Logf("MLLP answers %v (%d stored more than once), Bundle answers %v, %d Bundles in Kafka", codes, dups, statuses, len(entries))
	if len(lost) > 0 {
		t.Errorf("%d answered AA/200 without their records: %v", len(lost), lost)
	}
	if len(partial) > 0 {
		t.Errorf("%d partial transactions: %v", len(partial), partial)
	}
	if codes["AA"] == 0 || statuses[http.StatusOK] == 0 {
		t.Error("the senders got no positive answer at all")
	}
}
