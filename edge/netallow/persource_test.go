package netallow

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

func tcp(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }

func TestPerSourceAcquire(t *testing.T) {
	type step struct {
		addr net.Addr
		ok   bool
	}
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{name: "a source gets max connections and no more", max: 2, steps: []step{
			{tcp("10.0.0.1", 1), true}, {tcp("10.0.0.1", 2), true}, {tcp("10.0.0.1", 3), false}}},
		{name: "sources are counted apart", max: 1, steps: []step{
			{tcp("10.0.0.1", 1), true}, {tcp("10.0.0.2", 1), true}, {tcp("10.0.0.1", 2), false}, {tcp("2001:db8::1", 1), true}}},
		{name: "an IPv4-mapped address is the same source as its IPv4", max: 1, steps: []step{
			{tcp("10.0.0.1", 1), true}, {tcp("::ffff:10.0.0.1", 2), false}}},
		{name: "addresses without an IP share one slot pool", max: 1, steps: []step{
			{strAddr("@a"), true}, {strAddr("@b"), false}}},
		{name: "zero is unlimited", max: 0, steps: []step{
			{tcp("10.0.0.1", 1), true}, {tcp("10.0.0.1", 2), true}, {tcp("10.0.0.1", 3), true}}},
		{name: "a negative max is unlimited", max: -1, steps: []step{{tcp("10.0.0.1", 1), true}, {tcp("10.0.0.1", 2), true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPerSource(tt.max)
			var releases []func()
			for i, s := range tt.steps {
				release, ok := p.Acquire(s.addr)
				if ok != s.ok {
					t.Fatalf("step %d: Acquire(%v) ok = %v, want %v", i, s.addr, ok, s.ok)
				}
				releases = append(releases, release)
			}
			for _, r := range releases {
				r()
			}
			if n := p.Sources(); n != 0 {
				t.Errorf("%d sources tracked after every release", n)
			}
		})
	}
}

func TestPerSourceReleaseIsIdempotent(t *testing.T) {
	p := NewPerSource(2)
	a := tcp("10.0.0.1", 1)
	r1, _ := p.Acquire(a)
	if _, ok := p.Acquire(a); !ok {
		t.Fatal("second slot refused")
	}
	r1()
	r1()
	r1()
	if got := p.Open(a); got != 1 {
		t.Fatalf("Open = %d after releasing one slot three times, want 1", got)
	}
	if _, ok := p.Acquire(a); !ok {
		t.Error("the released slot cannot be taken again")
	}
	if _, ok := p.Acquire(a); ok {
		t.Error("a repeated release freed more than one slot")
	}
}

func TestPerSourceForgetsIdleSources(t *testing.T) {
	p := NewPerSource(1)
	for i := range 10000 {
		a := tcp(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), 1000)
		release, ok := p.Acquire(a)
		if !ok {
			t.Fatalf("source %v refused", a)
		}
		release()
		if n := len(p.open); n != 0 {
			t.Fatalf("map holds %d entries after source %d left", n, i)
		}
	}
}

func TestPerSourceConcurrent(t *testing.T) {
	const max, workers, rounds = 3, 16, 2000
	p := NewPerSource(max)
	sources := []net.Addr{tcp("10.0.0.1", 1), tcp("10.0.0.2", 1), tcp("2001:db8::1", 1), tcp("::ffff:10.0.0.1", 2)}
	held := map[string]*atomic.Int32{} // keyed by the source's canonical IP
	for _, s := range sources {
		ip, _ := AddrIP(s)
		if held[ip.String()] == nil {
			held[ip.String()] = new(atomic.Int32)
		}
	}
	var over, granted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				s := sources[(w+i)%len(sources)]
				release, ok := p.Acquire(s)
				if !ok {
					continue
				}
				granted.Add(1)
				ip, _ := AddrIP(s)
				h := held[ip.String()]
				if h.Add(1) > max {
					over.Add(1)
				}
				h.Add(-1)
				release()
				if i%7 == 0 {
					release() // idempotent under concurrency too
				}
			}
		})
	}
	wg.Wait()
	if over.Load() != 0 {
		t.Errorf("a source held more than %d slots %d times", max, over.Load())
	}
	if granted.Load() == 0 {
		t.Error("no slot was ever granted")
	}
	if n := p.Sources(); n != 0 {
		t.Errorf("%d sources tracked after every release", n)
	}
}

func TestNilPerSourceIsUnlimited(t *testing.T) {
	var p *PerSource
	release, ok := p.Acquire(tcp("10.0.0.1", 1))
	if !ok {
		t.Fatal("nil PerSource refused")
	}
	release()
	if p.Sources() != 0 || p.Open(tcp("10.0.0.1", 1)) != 0 {
		t.Error("nil PerSource reports connections")
	}
}
