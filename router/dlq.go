package router

import (
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/validation"
)

// DLQInfo describes why a message is dead-lettered.
type DLQInfo struct {
	Topic     string // the dead-letter topic, prefix already applied
	Connector string
	Stage     string // PARSE, VALIDATE, ROUTE; CONVERT (ConversionDeadLetter)
	Findings  validation.Findings
	// ContentType of the original bytes.
	ContentType string
	// ContextHeaders adds Kafka Connect's __connect.errors.* headers
	// (errors.deadletterqueue.context.headers.enable).
	ContextHeaders bool
	// Key, when known, keeps the patient key of the original message.
	Key []byte
}

// DeadLetter builds the dead-letter record: the original bytes unchanged,
// and, when enabled, Kafka Connect's error context headers. The exception
// message lists the error findings' codes, locations and rule names, never
// the values that failed.
func DeadLetter(raw []byte, in DLQInfo) *kgo.Record {
	h := make([]kgo.RecordHeader, 0, 8)
	h = appendHeader(h, "content-type", in.ContentType)
	if in.ContextHeaders {
		first, ok := in.Findings.FirstError()
		if !ok && len(in.Findings) > 0 {
			first = in.Findings[0]
		}
		h = appendHeader(h, "__connect.errors.connector.name", in.Connector)
		h = appendHeader(h, "__connect.errors.stage", in.Stage)
		h = appendHeader(h, "__connect.errors.class.name", className(in.Stage, first.Code))
		h = appendHeader(h, "__connect.errors.exception.message", exceptionMessage(in.Findings))
		h = appendHeader(h, "__connect.errors.location", first.Location)
		h = appendHeader(h, "__connect.errors.code", codeString(first.Code))
	}
	return &kgo.Record{Topic: in.Topic, Key: in.Key, Value: raw, Headers: h}
}

// className is a stable, Java-like error class name for the header, e.g.
// "hl7gw.ParseError.required_missing".
func className(stage string, c validation.Code) string {
	kind := "ValidationError"
	switch stage {
	case "PARSE":
		kind = "ParseError"
	case "ROUTE":
		kind = "RoutingError"
	case StageConvert:
		kind = "ConversionError"
	}
	return "hl7gw." + kind + "." + c.Reason()
}

func codeString(c validation.Code) string {
	if c == validation.CodeOK {
		return ""
	}
	return strconv.Itoa(int(c))
}

// maxExceptionFindings bounds the exception message header.
const maxExceptionFindings = 20

func exceptionMessage(fs validation.Findings) string {
	var b strings.Builder
	n := 0
	for _, f := range fs {
		if f.Severity != validation.SeverityError {
			continue
		}
		if n == maxExceptionFindings {
			b.WriteString("; ...")
			break
		}
		if n > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
		n++
	}
	return b.String()
}
