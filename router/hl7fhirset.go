package router

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/validation"
)

// The headers of a converted record, in their order. The per-resource
// ones (ce_id, ce_type, fhir.resource_type, fhir.id, fhir.action) are
// written for each record, the others once per message.
const (
	slotSpecVersion = iota
	slotID
	slotSource
	slotType
	slotTime
	slotContentType
	slotResourceType
	slotFHIRID
	slotAction
	slotFHIRVersion
	slotMessageType
	slotTriggerEvent
	slotControlID
	slotSendingApp
	slotSendingFacility
	slotSourceTopic
	slotWarnings
	numSlots
)

// ConvertedSource is what the records of one HL7 v2 message's converted
// resources share: the message, the topic of its raw record (prefix
// included) and the conversion's warnings (hl7.convert.warnings).
type ConvertedSource struct {
	Source      HL7Meta
	SourceTopic string
	Warnings    validation.Findings
}

// ConvertedResource is one FHIR resource converted from the message: its
// JSON body, type, id, action ("create", "update" or "delete") and record
// key, as in ConvertedMeta.
type ConvertedResource struct {
	Body         []byte
	ResourceType string
	ID           string
	Action       string
	Key          string
}

// ConvertedRecords builds the records of the resources converted from one
// HL7 v2 message, each exactly as ConvertedRecord builds it, with what
// they share made once: the message's header values are written once and
// shared by every record (read-only, capacity-clipped slices), and the
// records, their header lists and their own values are cut from a few
// blocks instead of several allocations per record. Records it made stay
// valid after later calls. It is not safe for concurrent use.
type ConvertedRecords struct {
	prefix   string
	sourceID string
	shared   [numSlots]kgo.RecordHeader // per-resource slots hold only their keys
	headers  []kgo.RecordHeader         // the records' header lists
	recs     []kgo.Record
	buf      []byte // the per-resource values and keys
	left     int    // resources still expected
}

// NewConvertedRecords returns the builder of the records of one message's
// converted resources; prefix, connector and sourceID as for
// ConvertedRecord, now the receipt time, n the number of resources
// expected (more may be added).
func NewConvertedRecords(prefix, connector, sourceID string, src ConvertedSource, now time.Time, n int) *ConvertedRecords {
	c := &ConvertedRecords{prefix: prefix, sourceID: sourceID}
	u := src.Source.decoded()
	b := make([]byte, 0, 192+len(src.SourceTopic)+24*min(len(src.Warnings), maxWarningPositions))
	put := func(slot int, key string, start int) {
		c.shared[slot] = kgo.RecordHeader{Key: key, Value: b[start:len(b):len(b)]}
	}
	b = append(b, "1.0"...)
	put(slotSpecVersion, "ce_specversion", 0)
	c.shared[slotID].Key = "ce_id"
	at := len(b)
	b = appendSource(b, connector, u.SendingFacility, u.SendingApp)
	put(slotSource, "ce_source", at)
	c.shared[slotType].Key = "ce_type"
	at = len(b)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	put(slotTime, "ce_time", at)
	at = len(b)
	b = append(b, ContentTypeFHIR...)
	put(slotContentType, "content-type", at)
	c.shared[slotResourceType].Key = "fhir.resource_type"
	c.shared[slotFHIRID].Key = "fhir.id"
	c.shared[slotAction].Key = "fhir.action"
	for _, h := range [...]struct {
		slot     int
		key, val string
	}{
		{slotFHIRVersion, "fhir.version", FHIRVersion},
		{slotMessageType, "hl7.message_type", u.MessageType},
		{slotTriggerEvent, "hl7.trigger_event", u.TriggerEvent},
		{slotControlID, "hl7.control_id", u.ControlID},
		{slotSendingApp, "hl7.sending_application", u.SendingApp},
		{slotSendingFacility, "hl7.sending_facility", u.SendingFacility},
		{slotSourceTopic, HL7SourceTopicHeader, src.SourceTopic},
	} {
		at = len(b)
		b = append(b, h.val...)
		put(h.slot, h.key, at)
	}
	if len(src.Warnings) > 0 {
		at = len(b)
		b = appendWarnings(b, src.Warnings)
		put(slotWarnings, HL7ConvertWarningsHeader, at)
	}
	n = max(n, 1)
	per := 5 // the per-resource headers
	for _, h := range c.shared {
		if len(h.Value) > 0 {
			per++
		}
	}
	c.headers = make([]kgo.RecordHeader, 0, n*per)
	c.recs = make([]kgo.Record, 0, n)
	c.left = n
	return c
}

// Add builds the record of resource r. It fails only when no topic name
// can be made.
func (c *ConvertedRecords) Add(r ConvertedResource) (*kgo.Record, error) {
	topic, err := convertedTopic(c.prefix, r.ResourceType, r.Action)
	if err != nil {
		return nil, err
	}
	ceType := topic[len(c.prefix):]
	need := len(c.sourceID) + 2 + 2*(len(r.ResourceType)+len(r.ID)) + len(ceType) + len(r.Action) + len(r.Key)
	if cap(c.buf)-len(c.buf) < need {
		// A block for this resource and, at its size with some room, the
		// ones still expected; records cut from the old block keep it.
		c.buf = make([]byte, 0, (need+32)*max(c.left, 1))
	}
	c.left--
	b := c.buf
	var ends [6]int
	b = append(b, c.sourceID...)
	b = append(b, '/')
	b = append(b, r.ResourceType...)
	b = append(b, '/')
	b = append(b, r.ID...)
	ends[0] = len(b)
	b = append(b, ceType...)
	ends[1] = len(b)
	b = append(b, r.ResourceType...)
	ends[2] = len(b)
	b = append(b, r.ID...)
	ends[3] = len(b)
	b = append(b, r.Action...)
	ends[4] = len(b)
	b = append(b, r.Key...)
	ends[5] = len(b)
	start := len(c.buf)
	c.buf = b
	cut := func(i int) []byte {
		s := start
		if i > 0 {
			s = ends[i-1]
		}
		return b[s:ends[i]:ends[i]]
	}
	h := c.shared
	h[slotID].Value = cut(0)
	h[slotType].Value = cut(1)
	h[slotResourceType].Value = cut(2)
	h[slotFHIRID].Value = cut(3)
	h[slotAction].Value = cut(4)
	first := len(c.headers)
	for _, x := range h {
		if len(x.Value) > 0 { // an empty value is left out, as appendHeader does
			c.headers = append(c.headers, x)
		}
	}
	hs := c.headers[first:len(c.headers):len(c.headers)]
	var rec *kgo.Record
	if len(c.recs) < cap(c.recs) {
		c.recs = c.recs[:len(c.recs)+1]
		rec = &c.recs[len(c.recs)-1]
	} else {
		rec = new(kgo.Record)
	}
	*rec = kgo.Record{Topic: topic, Key: cut(5), Value: r.Body, Headers: hs}
	return rec, nil
}

// convertedTopics remembers FHIRTopic's names for converted resources,
// whose types and actions are the converter's few, so that a record does
// not make its topic name again; it stops learning at
// maxConvertedTopics names.
var (
	convertedTopics  sync.Map // topicKey -> string
	convertedTopicsN atomic.Int32
)

const maxConvertedTopics = 1024

type topicKey struct{ prefix, resourceType, action string }

// convertedTopic is FHIRTopic(prefix, {resourceType, action}).
func convertedTopic(prefix, resourceType, action string) (string, error) {
	k := topicKey{prefix, resourceType, action}
	if t, ok := convertedTopics.Load(k); ok {
		return t.(string), nil
	}
	t, err := FHIRTopic(prefix, FHIRMeta{ResourceType: resourceType, Action: action})
	if err != nil {
		return "", err
	}
	if convertedTopicsN.Load() < maxConvertedTopics {
		if _, had := convertedTopics.LoadOrStore(k, t); !had {
			convertedTopicsN.Add(1)
		}
	}
	return t, nil
}
