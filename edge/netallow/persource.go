package netallow

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// PerSource counts open connections per source IP address, to cap what one
// sender may hold. Sources are keyed by IP alone (ports differ per
// connection); IPv4-mapped IPv6 addresses count as IPv4, and addresses
// without an IP share one key. An entry lives only while its count is above
// zero, so the map holds at most one entry per open connection. Safe for
// concurrent use; a nil *PerSource is unlimited.
type PerSource struct {
	max int

	mu   sync.Mutex
	open map[netip.Addr]int
}

// NewPerSource returns a counter allowing max open connections per source
// IP; max <= 0 means unlimited (nothing is tracked).
func NewPerSource(max int) *PerSource {
	return &PerSource{max: max, open: make(map[netip.Addr]int)}
}

// Acquire takes a slot for a connection from addr. ok is false, and nothing
// is taken, when that source already holds max connections. release gives
// the slot back; it may be called any number of times, from any goroutine,
// and frees the slot once. Acquire never blocks beyond a short lock.
func (p *PerSource) Acquire(addr net.Addr) (release func(), ok bool) {
	if p == nil || p.max <= 0 {
		return func() {}, true
	}
	ip, _ := AddrIP(addr) // no IP: the zero Addr, one shared key
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[ip] >= p.max {
		return func() {}, false
	}
	p.open[ip]++
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			p.release(ip)
		}
	}, true
}

func (p *PerSource) release(ip netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.open[ip] - 1; n > 0 {
		p.open[ip] = n
	} else {
		delete(p.open, ip)
	}
}

// Open returns the connections currently held by addr's source IP.
func (p *PerSource) Open(addr net.Addr) int {
	if p == nil {
		return 0
	}
	ip, _ := AddrIP(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open[ip]
}

// Sources returns how many source IPs hold at least one connection.
func (p *PerSource) Sources() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.open)
}
