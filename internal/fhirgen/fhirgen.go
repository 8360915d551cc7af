// Package fhirgen makes the FHIR requests tests generate rather than read
// from the corpus: inputs whose ids a test chooses, so that it can find
// each resource's record again by its key. It is for tests only; nothing
// on the data path imports it.
package fhirgen

import (
	"bytes"
	"fmt"
	"strconv"
)

// PatientTransaction is a FHIR transaction Bundle of n Patient creates
// with ids idPrefix+"0" to idPrefix+"<n-1>" and the given family name. Each
// entry becomes a record keyed Patient/<id>, so the entries of one Bundle
// spread over several partitions and a test can tell from a key which
// Bundle and entry it came from.
func PatientTransaction(idPrefix string, n int, family string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"fullUrl":"urn:uuid:00000000-0000-4000-8000-%012d","resource":{"resourceType":"Patient","id":%s,"name":[{"family":%s}]},"request":{"method":"POST","url":"Patient"}}`,
			k, strconv.Quote(idPrefix+strconv.Itoa(k)), strconv.Quote(family))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}
