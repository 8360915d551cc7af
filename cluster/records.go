package cluster

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/connectors"
)

// Record keys on the status topic. The latest record per key is the state
// (the topic is compacted); an empty value (tombstone) deletes it.
//
//	instance/<id>                  heartbeat of the instance id: who runs it, alive or stopped
//	target/<connector>             the connector's target state (Kafka Connect's target-state-<name>)
//	status/<connector>/<instance>  one instance's status of the connector
//
// Instance ids contain no '/', so a status key splits at its last '/'.
const (
	prefixInstance = "instance/"
	prefixTarget   = "target/"
	prefixStatus   = "status/"
)

// heartbeat is the value of instance/<id>.
type heartbeat struct {
	// Incarnation is random per process start: it tells this run's
	// heartbeats from another process's with the same instance id.
	Incarnation string `json:"incarnation"`
	Host        string `json:"host"`
	PID         int    `json:"pid"`
	WorkerID    string `json:"worker_id"`
	// Alive is false in the record a clean shutdown leaves: the id is
	// free at once.
	Alive bool `json:"alive"`
}

// statusValue is the value of status/<connector>/<instance>.
type statusValue struct {
	Connector string                  `json:"connector"`
	Status    connectors.WorkerStatus `json:"status"`
}

// targetValue is the value of target/<connector>.
type targetValue struct {
	Connector string            `json:"connector"`
	Target    connectors.Target `json:"target"`
	By        string            `json:"by"` // the instance that recorded it
}

func instanceKey(id string) string { return prefixInstance + id }

func targetKey(connector string) string { return prefixTarget + connector }

func statusKey(connector, instance string) string {
	return prefixStatus + connector + "/" + instance
}

// splitStatusKey returns the connector and instance of a status key.
func splitStatusKey(key string) (connector, instance string, ok bool) {
	rest, ok := strings.CutPrefix(key, prefixStatus)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and ints
	}
	return b
}

// produce writes recs and waits for the broker's answer or the end of ctx,
// whichever comes first. kgo's ProduceSync can wait past ctx: an
// idempotent producer does not fail a record once a request carrying it
// was sent, so with a broker gone it would wait for the broker's return.
// Records still buffered when ctx ends are failed when the client closes.
func produce(ctx context.Context, cl *kgo.Client, recs ...*kgo.Record) error {
	errc := make(chan error, len(recs))
	for _, r := range recs {
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) { errc <- err })
	}
	var first error
	for range recs {
		select {
		case err := <-errc:
			if err != nil && first == nil {
				first = err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return first
}
