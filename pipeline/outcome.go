// Package pipeline is the one code path every front door shares:
// parse -> validate -> route -> publish. A door hands it raw bytes and gets
// back an Outcome, which the door translates into its own answer (an HL7 ACK
// code, an HTTP status, a gRPC code) in one function of its own.
package pipeline

import (
	"errors"

	"github.com/hl7gw/gateway/validation"
)

// Status is what happened to a message, from the sender's point of view.
type Status uint8

const (
	// Accepted: valid, published, and acknowledged by the broker with
	// acks=all. Answer AA / CA / 200-201 / OK.
	Accepted Status = iota + 1
	// Invalid: the content is bad and the raw bytes were written to the
	// dead-letter topic (errors.tolerance=all). Answer AE / CE / 400-422 /
	// INVALID_ARGUMENT.
	Invalid
	// Refused: the content is bad and, with errors.tolerance=none, nothing
	// was written anywhere. Answer like Invalid.
	Refused
	// Unavailable: the message could not be stored (broker down, timeout,
	// not enough replicas, not authorized, overloaded, paused). The sender
	// keeps it and retries. Answer AR / CR / 503 / UNAVAILABLE.
	Unavailable
)

func (s Status) String() string {
	switch s {
	case Accepted:
		return "accepted"
	case Invalid:
		return "invalid"
	case Refused:
		return "refused"
	case Unavailable:
		return "unavailable"
	default:
		return "unknown"
	}
}

// Stage names where a message failed, using Kafka Connect's stage names as
// they appear in the __connect.errors.stage header.
type Stage string

const (
	StageNone     Stage = ""
	StageParse    Stage = "PARSE"
	StageValidate Stage = "VALIDATE"
	StageRoute    Stage = "ROUTE"
	StagePublish  Stage = "PUBLISH"
)

// Delivery is where one record landed.
type Delivery struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Outcome is the pipeline's answer for one submitted message. Doors
// translate it; they never look at errors themselves.
type Outcome struct {
	Status Status
	// Stage is where an Invalid/Refused/Unavailable message stopped.
	Stage Stage
	// Findings are the errors and warnings found; for Accepted only
	// warnings.
	Findings validation.Findings
	// Deliveries are the records written: the routed records for Accepted,
	// the dead-letter record for Invalid.
	Deliveries []Delivery
	// Cause is the error behind an Unavailable outcome (wrapping a kerr
	// error, context.DeadlineExceeded, ErrOverloaded, ...). Safe to log:
	// it never contains message content.
	Cause error
	// Reason is a short label for Unavailable outcomes ("not_enough_replicas",
	// "timeout", "not_authorized", "broker_unavailable", "overloaded",
	// "paused", ...) used in metrics and logs. It is a label only: code that
	// decides on a cause tests Cause with errors.Is against the sentinels
	// below.
	Reason Reason
}

// Reason labels why a message was not stored or was refused: the value of
// the reason label of gateway_pipeline_unavailable_total and of the
// "reason" log field, and the words in an AR's MSA-3 and a 503's message.
// Its values are stable; each package names those it gives as constants.
type Reason string

// The causes other packages decide on. They are tested with errors.Is,
// never by their label; a Publisher's errors match ErrRecordTooLarge (for
// package publish, *publish.Error does so itself).
var (
	// ErrOverloaded is the Cause when the in-flight bound of a connector is
	// reached; the sender should retry later.
	ErrOverloaded = errors.New("gateway overloaded: in-flight limit reached")
	// ErrPaused is the Cause when the connector has been paused by an
	// operator.
	ErrPaused = errors.New("connector paused")
	// ErrRecordTooLarge is matched by a publish error saying Kafka will
	// never take the record (larger than the producer's batch limit or the
	// topic's max.message.bytes): the message is Refused, not retried.
	ErrRecordTooLarge = errors.New("record larger than Kafka takes")
)

// The reasons the pipeline itself gives. A Publisher's errors give their
// own through a Reason() Reason method.
const (
	ReasonOverloaded     Reason = "overloaded"
	ReasonPaused         Reason = "paused"
	ReasonRecordTooLarge Reason = "record_too_large"
	ReasonTimeout        Reason = "timeout"
	ReasonCanceled       Reason = "canceled"
	ReasonPublishFailed  Reason = "publish_failed"
)
