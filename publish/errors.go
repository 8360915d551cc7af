package publish

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/pipeline"
)

// Reasons a publish fails; stable labels for metrics, logs and answers.
// Those the pipeline also gives are its own constants, so both packages
// count the same event under one label.
const (
	ReasonNotEnoughReplicas pipeline.Reason = "not_enough_replicas"
	ReasonNotAuthorized     pipeline.Reason = "not_authorized"
	ReasonSASLFailed        pipeline.Reason = "sasl_authentication_failed"
	ReasonTimeout                           = pipeline.ReasonTimeout
	ReasonBrokerUnavailable pipeline.Reason = "broker_unavailable"
	ReasonRecordTooLarge                    = pipeline.ReasonRecordTooLarge
	ReasonUnknownTopic      pipeline.Reason = "unknown_topic"
	ReasonBufferFull        pipeline.Reason = "buffer_full"
	ReasonCanceled                          = pipeline.ReasonCanceled
	ReasonFailed                            = pipeline.ReasonPublishFailed
)

// ErrEpochChanged is the cause of an atomic publish whose records Kafka
// took under more than one producer epoch: the producer reinitialized in
// the middle of the transaction, which aborted its first part, so the
// transaction is aborted as a whole rather than committed in part.
var ErrEpochChanged = errors.New("producer epoch changed during the transaction")

// Error is a failed publish. It never contains record keys or values.
type Error struct {
	// Why is the Reason label.
	Why pipeline.Reason
	// Topic is the topic of the first record that failed ("" when the
	// failure is not about one topic, e.g. a Ping).
	Topic string
	// Err is the underlying franz-go / kerr / context error.
	Err error
}

func (e *Error) Error() string {
	s := "publish: " + string(e.Why)
	if e.Topic != "" {
		s += " (topic " + e.Topic + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error, so errors.Is(err, kerr.NotEnoughReplicas)
// works on a *Error.
func (e *Error) Unwrap() error { return e.Err }

// Reason is the short label (see the Reason constants); the pipeline uses
// it for Unavailable outcomes.
func (e *Error) Reason() pipeline.Reason { return e.Why }

// Is reports whether e is the pipeline's cause target: a record Kafka will
// never take matches pipeline.ErrRecordTooLarge, whichever broker error or
// producer limit said so. Other targets are left to Unwrap (kerr errors,
// context errors).
func (e *Error) Is(target error) bool {
	return target == pipeline.ErrRecordTooLarge && e.Why == ReasonRecordTooLarge
}

func newError(topic string, err error) *Error {
	return &Error{Why: Classify(err), Topic: topic, Err: err}
}

// Classify labels a franz-go produce error. The most specific cause wins:
// a record that timed out while the last error was NOT_ENOUGH_REPLICAS is
// "not_enough_replicas", one that timed out dialing a dead broker is
// "broker_unavailable"; a bare timeout is "timeout".
func Classify(err error) pipeline.Reason {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, kgo.ErrMaxBuffered):
		return ReasonBufferFull
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return ReasonRecordTooLarge
	case errors.Is(err, kerr.NotEnoughReplicas), errors.Is(err, kerr.NotEnoughReplicasAfterAppend):
		return ReasonNotEnoughReplicas
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed),
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
		return ReasonNotAuthorized
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.UnsupportedSaslMechanism),
		errors.Is(err, kerr.IllegalSaslState):
		return ReasonSASLFailed
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		return ReasonUnknownTopic
	case unavailable(err):
		return ReasonBrokerUnavailable
	case errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kerr.RequestTimedOut),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	default:
		return ReasonFailed
	}
}

// unavailable reports errors meaning no broker could take the request:
// refused or reset connections, dial failures, a closed client, and
// leadership errors that persisted until the record failed.
func unavailable(err error) bool {
	var op *net.OpError
	var eof *kgo.ErrFirstReadEOF
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.Is(err, kgo.ErrClientClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.Is(err, kerr.BrokerNotAvailable), errors.Is(err, kerr.LeaderNotAvailable),
		errors.Is(err, kerr.NotLeaderForPartition), errors.Is(err, kerr.NetworkException),
		errors.Is(err, kerr.CoordinatorNotAvailable):
		return true
	case errors.As(err, &eof):
		return true
	case errors.As(err, &op) && op.Op == "dial":
		return true
	}
	return false
}
