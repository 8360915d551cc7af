// Package cluster is what several gateway instances on one Kafka cluster
// share, kept in Kafka and nowhere else, as Kafka Connect keeps its workers'
// state in compacted topics:
//
//   - instance identity: each gateway has an instance id (InstanceID), and
//     a Member heartbeats it on the status topic, so that a second process
//     started with an id in use is refused (ErrInstanceIDInUse) instead of
//     fencing the first one's transactional producers;
//   - connector state: target states (pause, resume, restart) and each
//     instance's connector status on the same topic, read by every
//     instance from the start (latest record per key);
//   - the memory of stored HL7 messages for cross-instance duplicate
//     suppression (DedupLog) on its own compacted topic.
package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// instanceFile is the file in the state directory that keeps a derived
// instance id across restarts.
const instanceFile = "instance-id"

// InstanceID returns this gateway's instance id: configured when not
// empty; else the one kept in stateDir/instance-id; else a new one, the
// host name plus 8 random hex digits, written to stateDir/instance-id when
// stateDir is set. Without a state directory every start gets a new id, so
// two processes never share one, but a restart does not take over the
// previous run's transactional ids: a transaction the previous run left
// open is aborted by the coordinator after the transaction timeout rather
// than at once. It fails only when the state directory cannot be read or
// written.
func InstanceID(configured, stateDir string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if stateDir == "" {
		return newInstanceID()
	}
	path := filepath.Join(stateDir, instanceFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if id == "" {
			return "", fmt.Errorf("cluster: %s is empty", path)
		}
		return id, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("cluster: read instance id: %w", err)
	}
	id, err := newInstanceID()
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("cluster: keep instance id: %w", err)
	}
	return id, nil
}

// newInstanceID is the sanitized host name (at most 40 characters) and 8
// random hex digits.
func newInstanceID() (string, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "gateway"
	}
	host = sanitize(host)
	if len(host) > 40 {
		host = host[:40]
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cluster: random instance id: %w", err)
	}
	return host + "-" + hex.EncodeToString(b[:]), nil
}

// sanitize keeps what a transactional id and a client.id take as they are:
// letters, digits, '.', '_' and '-'; anything else becomes '-'.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '.' || r == '_' || r == '-', r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			return r
		default:
			return '-'
		}
	}, s)
}

// writeFileAtomic writes data to a temporary file in path's directory and
// renames it over path, so that a crash never leaves half an id.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".instance-id-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
