//go:build unix

package limits

import (
	"fmt"
	"syscall"
)

func raiseFileLimit() (FileLimit, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return FileLimit{}, fmt.Errorf("limits: read open-file limit: %w", err)
	}
	before := uint64(lim.Cur)
	if lim.Cur < lim.Max {
		want := lim
		want.Cur = want.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return FileLimit{Soft: before, Hard: uint64(lim.Max), Before: before},
				fmt.Errorf("limits: raise open-file limit from %d to %d: %w", lim.Cur, lim.Max, err)
		}
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return FileLimit{}, fmt.Errorf("limits: read open-file limit: %w", err)
		}
	}
	return FileLimit{Soft: uint64(lim.Cur), Hard: uint64(lim.Max), Before: before}, nil
}
