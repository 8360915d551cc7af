package limits

import (
	"errors"
	"fmt"
)

// ErrNoFileLimit is returned by RaiseFileLimit where the process has no
// open-file limit to read (not a Unix system).
var ErrNoFileLimit = errors.New("limits: no open-file limit on this system")

// Shares of the open-file limit, see NewBudget.
const (
	// DoorsPercent is the part of the open-file limit that the doors'
	// listeners may hold between them; the rest is the reserve.
	DoorsPercent = 80
	// PerSourceDivisor: one source address may hold 1/PerSourceDivisor of
	// a listener's share.
	PerSourceDivisor = 10
	// EmbeddedDivisor: the embedded broker's listener may hold
	// 1/EmbeddedDivisor of the reserve.
	EmbeddedDivisor = 4
	// minReserve is kept back however small the limit is: broker
	// connections, the embedded broker, certificate and key files, logs.
	minReserve = 64
	// maxFiles caps an unlimited (or absurdly large) limit.
	maxFiles = 1 << 20
)

// FileLimit is the process's RLIMIT_NOFILE after RaiseFileLimit.
type FileLimit struct {
	Soft, Hard uint64 // as read after raising
	Before     uint64 // the soft limit before
}

// RaiseFileLimit raises the soft open-file limit (RLIMIT_NOFILE) to the
// hard one and returns the limits. The Go runtime already does so at start
// on most systems; doing it here makes the budget below independent of that
// and gives the log line something true to say. It fails when the limit
// cannot be read (then nothing changed) or set (the soft limit is left as
// it was and returned).
func RaiseFileLimit() (FileLimit, error) {
	return raiseFileLimit()
}

// Budget is how many connections the doors may hold, derived from the
// open-file limit so that no flood of connections can take the last file
// descriptor: the brokers, the embedded broker's listener and the
// gateway's own files always have the reserve.
type Budget struct {
	// Files is the open-file limit the budget was derived from.
	Files int
	// Listeners is how many door listeners share the doors' part.
	Listeners int
	// PerListener is one listener's total (max.connections,
	// mllp.max.connections by default).
	PerListener int
	// PerSource is one source address's total on one listener
	// (max.connections.per.source by default).
	PerSource int
	// Reserve is what the doors never take.
	Reserve int
	// Embedded is the embedded broker listener's total.
	Embedded int
}

// NewBudget divides files open files: the doors get DoorsPercent between
// them, shared equally by listeners (at least one); one source gets
// 1/PerSourceDivisor of a listener's share; the reserve (never less than
// 64 files, nor more than half) keeps the rest, and the embedded broker's
// listener may hold 1/EmbeddedDivisor of it. Every figure is at least 1.
func NewBudget(files uint64, listeners int) Budget {
	n := int(min(files, maxFiles))
	listeners = max(listeners, 1)
	reserve := n - n*DoorsPercent/100
	reserve = max(reserve, min(minReserve, n/2))
	b := Budget{Files: n, Listeners: listeners, Reserve: reserve}
	b.PerListener = max((n-reserve)/listeners, 1)
	b.PerSource = max(b.PerListener/PerSourceDivisor, 1)
	b.Embedded = max(reserve/EmbeddedDivisor, 1)
	return b
}

// Listener resolves a listener's connection limits: configured values
// (0 or more, 0 meaning unlimited) win; a negative value means "not
// configured" and takes the budget's.
func (b Budget) Listener(maxConns, perSource int) (total, source int) {
	total, source = maxConns, perSource
	if total < 0 {
		total = b.PerListener
	}
	if source < 0 {
		source = b.PerSource
	}
	return total, source
}

// String summarises the budget for the start-up log.
func (b Budget) String() string {
	return fmt.Sprintf("%d open files: %d listeners × %d connections (%d per source), reserve %d (embedded broker %d)",
		b.Files, b.Listeners, b.PerListener, b.PerSource, b.Reserve, b.Embedded)
}
