package limits_test

import (
	"syscall"
	"testing"

	"github.com/hl7gw/gateway/edge/limits"
)

func TestNewBudgetDividesTheOpenFileLimit(t *testing.T) {
	cases := []struct {
		name                                      string
		files                                     uint64
		listeners                                 int
		perListener, perSource, reserve, embedded int
	}{
		{"a 20000 limit and three doors leaves a fifth in reserve", 20000, 3, 5333, 533, 4000, 1000},
		{"a 1024 limit keeps 205 back and gives each of three doors 273", 1024, 3, 273, 27, 205, 51},
		{"a tiny limit still keeps 64 files back", 200, 3, 45, 4, 64, 16},
		{"a limit of 10 keeps half and gives every figure at least one", 10, 3, 1, 1, 5, 1},
		{"no listeners counts as one", 1000, 0, 800, 80, 200, 50},
		{"an unlimited limit is capped at 2^20 files", ^uint64(0), 4, 209715, 20971, 209716, 52429},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := limits.NewBudget(tc.files, tc.listeners)
			if b.PerListener != tc.perListener || b.PerSource != tc.perSource || b.Reserve != tc.reserve || b.Embedded != tc.embedded {
				t.Fatalf("budget %+v, want per listener %d, per source %d, reserve %d, embedded %d",
					b, tc.perListener, tc.perSource, tc.reserve, tc.embedded)
			}
			if used := b.PerListener*b.Listeners + b.Reserve; used > b.Files {
				t.Fatalf("doors and reserve take %d of %d files", used, b.Files)
			}
		})
	}
}

func TestBudgetListenerLetsConfiguredValuesWin(t *testing.T) {
	b := limits.NewBudget(20000, 3)
	cases := []struct {
		name                string
		maxConns, perSource int
		wantTotal, wantSrc  int
	}{
		{"unset values take the budget", -1, -1, 5333, 533},
		{"an explicit zero stays unlimited", 0, 0, 0, 0},
		{"explicit limits win over the budget", 50, 5, 50, 5},
		{"an explicit total keeps the derived per-source limit", 7000, -1, 7000, 533},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			total, src := b.Listener(tc.maxConns, tc.perSource)
			if total != tc.wantTotal || src != tc.wantSrc {
				t.Fatalf("Listener(%d, %d) = %d, %d; want %d, %d", tc.maxConns, tc.perSource, total, src, tc.wantTotal, tc.wantSrc)
			}
		})
	}
}

func TestRaiseFileLimitLiftsTheSoftLimitToTheHardOne(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	if orig.Max < 512 {
		t.Skipf("hard open-file limit %d is too low to lower the soft one", orig.Max)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	low := orig
	low.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	got, err := limits.RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if got.Before != 256 || got.Soft != uint64(orig.Max) || got.Hard != uint64(orig.Max) {
		t.Fatalf("RaiseFileLimit = %+v, want before 256, soft and hard %d", got, orig.Max)
	}
}
