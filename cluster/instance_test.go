package cluster

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var idShape = regexp.MustCompile(`^[A-Za-z0-9._-]{1,49}-[0-9a-f]{8}$`)

func TestAnInstanceID(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name       string
		configured string
		stateDir   string
		check      func(t *testing.T, first, second string)
	}{
		{"configured is used as it is", "gw-a", dir, func(t *testing.T, first, second string) {
			if first != "gw-a" || second != "gw-a" {
				t.Errorf("got %s, %s", first, second)
			}
			if _, err := os.Stat(filepath.Join(dir, instanceFile)); err == nil {
				t.Error("a configured id was written to the state directory")
			}
		}},
		{"derived without a state directory is new at every start", "", "", func(t *testing.T, first, second string) {
			if first == second || !idShape.MatchString(first) || !idShape.MatchString(second) {
				t.Errorf("got %s, %s", first, second)
			}
		}},
		{"derived with a state directory is kept across restarts", "", filepath.Join(dir, "new", "sub"), func(t *testing.T, first, second string) {
			b, err := os.ReadFile(filepath.Join(dir, "new", "sub", instanceFile))
			if first != second || !idShape.MatchString(first) || err != nil || string(b) != first+"\n" {
				t.Errorf("got %s, %s; file %q (%v)", first, second, b, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, err := InstanceID(tt.configured, tt.stateDir)
			if err != nil {
				t.Fatal(err)
			}
			second, err := InstanceID(tt.configured, tt.stateDir)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, first, second)
		})
	}
}

func TestAnUnreadableOrEmptyStateFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, instanceFile), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if id, err := InstanceID("", dir); err == nil {
		t.Errorf("empty state file gave id %q", id)
	}
	if id, err := InstanceID("", filepath.Join(dir, instanceFile)); err == nil {
		t.Errorf("a state dir that is a file gave id %q", id)
	}
}

func TestHostNamesBecomeIDCharacters(t *testing.T) {
	for in, want := range map[string]string{"gw1.example.org": "gw1.example.org", "gw 1/a:b": "gw-1-a-b", "Ünï": "-n-"} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}
