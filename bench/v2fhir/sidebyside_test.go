package v2fhir

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if gatewayBuild.dir != "" {
		os.RemoveAll(gatewayBuild.dir)
	}
	os.Exit(code)
}

// minSpeedRatio is issue 16's requirement: the gateway converts at least
// 50 times as many messages per CPU-second as LinuxForHealth's converter.
const minSpeedRatio = 50

// TestSideBySide converts the corpus with LinuxForHealth's
// hl7v2-fhir-converter and with `gateway convert`, prints the resources
// each makes per message type and the coverage of the key elements, fails
// where LinuxForHealth fills an element the gateway leaves out although
// the message has its source field, and compares their CPU time per
// message. LFH_TESTS=1 runs it; LFH_REQUIRED=1 (make test) also fails
// when Java, the converter or `gateway convert` is missing.
func TestSideBySide(t *testing.T) {
	if os.Getenv("LFH_TESTS") != "1" && os.Getenv("LFH_REQUIRED") != "1" {
		t.Skip("LFH_TESTS=1 runs the side-by-side run against LinuxForHealth's converter (bench/v2fhir/lfh.sh fetch first)")
	}
	cp := lfhClasspath(t)
	bin := gatewayBinary(t, "LFH_REQUIRED")
	msgs := corpusMessages(t)
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.src.messageType] = true
	}
	for _, typ := range messageTypes {
		if !seen[typ] {
			t.Errorf("the corpus has no %s message: the comparison does not cover it", typ)
		}
	}
	elems, err := compileElements()
	if err != nil {
		t.Fatal(err)
	}
	if len(elems) < 40 {
		t.Fatalf("%d key elements, issue 16 wants at least 40", len(elems))
	}
	minCPU := 2 * time.Second
	if v := os.Getenv("LFH_MIN_CPU"); v != "" {
		if minCPU, err = time.ParseDuration(v); err != nil {
			t.Fatalf("LFH_MIN_CPU: %v", err)
		}
	}
	t0 := time.Now()
	lfh := runLFH(t, cp, msgs, minCPU)
	t1 := time.Now()
	gw := runGateway(t, bin, msgs)
	t2 := time.Now()

	t.Log("\n" + resourceTable(msgs, lfh.bundles, gw.bundles))
	for _, m := range msgs {
		if _, ok := lfh.bundles[m.name]; ok {
			if why, failed := gw.errors[m.name]; failed {
				t.Errorf("%s (%s): LinuxForHealth converts it, the gateway refuses: %s", m.name, m.src.messageType, why)
			}
		}
	}

	cov, gaps, err := coverage(elems, msgs, lfh.bundles, gw.bundles)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + cov)
	for _, g := range gaps {
		t.Errorf("gap: %s", g)
	}

	t3 := time.Now()
	speed(t, bin, msgs, lfh, gw)
	t.Logf("wall time: LinuxForHealth run %v, gateway conversions %v, coverage %v, gateway timing %v",
		t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond), time.Since(t3).Round(time.Millisecond))
}

// resourceTable prints, per message type, how many messages each converter
// converted and the resources it made (type and count, over all messages).
func resourceTable(msgs []message, lfh, gw map[string]map[string]any) string {
	byType := map[string][]message{}
	for _, m := range msgs {
		byType[m.src.messageType] = append(byType[m.src.messageType], m)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Resources per message type (converted/messages: resource counts)\n")
	for _, typ := range sortedKeys(byType) {
		for _, side := range []struct {
			name    string
			bundles map[string]map[string]any
		}{{"gateway", gw}, {"LFH", lfh}} {
			counts := map[string]int{}
			converted := 0
			for _, m := range byType[typ] {
				bun, ok := side.bundles[m.name]
				if !ok {
					continue
				}
				converted++
				for _, r := range resources(bun) {
					rt, _ := r["resourceType"].(string)
					counts[rt]++
				}
			}
			var parts []string
			for _, rt := range sortedKeys(counts) {
				parts = append(parts, fmt.Sprintf("%s %d", rt, counts[rt]))
			}
			fmt.Fprintf(&b, "%-8s %-8s %3d/%-3d %s\n", typ, side.name, converted, len(byType[typ]), strings.Join(parts, ", "))
		}
	}
	return b.String()
}

// cell counts, for one element and message type, the messages with the
// source field and how many of those each converter filled it in.
type cell struct{ src, gw, lfh int }

// coverage prints the coverage table (rows: elements; columns: message
// types; cells gateway/LFH/messages with the source) and returns the gaps:
// messages the gateway converted where LFH fills an element the gateway
// does not while the source field is present.
func coverage(elems []compiled, msgs []message, lfh, gw map[string]map[string]any) (string, []string, error) {
	types := map[string]bool{}
	cells := make([]map[string]*cell, len(elems))
	var gaps []string
	for i := range elems {
		cells[i] = map[string]*cell{}
	}
	for _, m := range msgs {
		typ := m.src.messageType
		types[typ] = true
		for i := range elems {
			e := &elems[i]
			if !e.present(m.src) {
				continue
			}
			c := cells[i][typ]
			if c == nil {
				c = &cell{}
				cells[i][typ] = c
			}
			c.src++
			inGW, inLFH := false, false
			var err error
			if b, ok := gw[m.name]; ok {
				if inGW, err = e.filled(b); err != nil {
					return "", nil, fmt.Errorf("gateway's Bundle for %s: %w", m.name, err)
				}
			}
			if b, ok := lfh[m.name]; ok {
				if inLFH, err = e.filled(b); err != nil {
					return "", nil, fmt.Errorf("LFH's Bundle for %s: %w", m.name, err)
				}
			}
			if inGW {
				c.gw++
			}
			if inLFH {
				c.lfh++
			}
			// A message the gateway refused is reported once, by the caller.
			if _, converted := gw[m.name]; inLFH && !inGW && converted {
				gaps = append(gaps, fmt.Sprintf("%s: %s (%s present) filled by LFH, not by the gateway", m.name, e.name, srcText(e.element)))
			}
		}
	}
	cols := sortedKeys(types)
	var b strings.Builder
	fmt.Fprintf(&b, "Coverage: gateway/LFH/messages with the source field, per message type (. = no message has it)\n")
	fmt.Fprintf(&b, "%-46s %-11s", "element", "total")
	for _, c := range cols {
		fmt.Fprintf(&b, " %-11s", c)
	}
	b.WriteByte('\n')
	for i, e := range elems {
		var tot cell
		for _, c := range cells[i] {
			tot.src, tot.gw, tot.lfh = tot.src+c.src, tot.gw+c.gw, tot.lfh+c.lfh
		}
		fmt.Fprintf(&b, "%-46s %-11s", e.name, cellText(&tot))
		for _, typ := range cols {
			fmt.Fprintf(&b, " %-11s", cellText(cells[i][typ]))
		}
		b.WriteByte('\n')
	}
	return b.String(), gaps, nil
}

func cellText(c *cell) string {
	if c == nil || c.src == 0 {
		return "."
	}
	return fmt.Sprintf("%d/%d/%d", c.gw, c.lfh, c.src)
}

func srcText(e element) string {
	if len(e.src) == 0 {
		return "its source"
	}
	return strings.Join(e.src, " or ")
}

// speed compares CPU time per message: LFH's from LfhConvert's timed
// passes (the converting thread only, so JIT and GC threads do not count
// against it), the gateway's from the rusage of `gateway convert`
// processes (garbage collection, parsing and JSON writing included), as
// the difference between a run over many copies of the corpus and a run
// over one copy, so process start-up does not count either.
func speed(t *testing.T, bin string, msgs []message, lfh *lfhRun, gw *gatewayRun) {
	var files []string
	for _, m := range msgs {
		if _, ok := gw.bundles[m.name]; ok {
			files = append(files, m.path)
		}
	}
	if len(files) == 0 {
		t.Fatal("the gateway converted no message: no speed to compare")
	}
	one := gatewayCPU(t, bin, files, 1)
	copies := 50
	many := gatewayCPU(t, bin, files, copies+1)
	perGW := (many - one) / time.Duration(copies*len(files))
	if perGW <= 0 {
		t.Fatalf("gateway CPU: %v for %d copies, %v for one: cannot tell the cost per message", many, copies+1, one)
	}
	perLFH := lfh.threadCPU / time.Duration(len(msgs))
	ratio := float64(perLFH) / float64(perGW)
	t.Logf("CPU per message: LFH %v (converting thread; whole JVM %v; %d messages, %d timed passes), gateway %v (process, %d messages x %d copies, start-up subtracted)",
		perLFH, lfh.procCPU/time.Duration(len(msgs)), len(msgs), lfh.passes, perGW, len(files), copies)
	t.Logf("messages per CPU-second: LFH %.0f, gateway %.0f: gateway %.1fx", 1/perLFH.Seconds(), 1/perGW.Seconds(), ratio)
	if ratio < minSpeedRatio {
		t.Errorf("the gateway converts %.1fx as many messages per CPU-second as LinuxForHealth's converter; issue 16 wants >= %dx", ratio, minSpeedRatio)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
