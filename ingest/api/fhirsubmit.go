package api

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/hl7gw/gateway/fhir"
	"github.com/hl7gw/gateway/fhir/fhirval"
	"github.com/hl7gw/gateway/ingest/fhirdoor"
	"github.com/hl7gw/gateway/pipeline"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
	"github.com/hl7gw/gateway/validation"
)

// reasonConditional is the Reason of a transaction Bundle refused for a
// conditional request the gateway cannot evaluate (it keeps no store).
const reasonConditional pipeline.Reason = "conditional"

// fhirResult is what one FHIR request came to, for either door.
type fhirResult struct {
	req fhirdoor.Request
	msg *fhirdoor.Message // nil when parsing failed, and for batches
	out pipeline.Outcome
	// batch is set for a batch Bundle: one result per request entry.
	batch   bool
	entries []entryResult
	// conds are the conditional entries of a transaction Bundle, which
	// was therefore not submitted (nothing written).
	conds []fhir.EntryCondition
}

// entryResult is the outcome of one batch entry.
type entryResult struct {
	entry fhir.Entry
	msg   *fhirdoor.Message
	out   pipeline.Outcome
}

// id is the id the resource is stored under: the one Parse found or
// assigned, else the one from the URL.
func (r fhirResult) id() string {
	if r.msg != nil && r.msg.ID != "" {
		return r.msg.ID
	}
	return r.req.ID
}

func (r fhirResult) resourceType() string {
	if r.msg != nil && r.msg.ResourceType != "" {
		return r.msg.ResourceType
	}
	return r.req.ResourceType
}

// submitFHIR runs one FHIR request. A Bundle request (no resource type in
// the URL) of type batch is split with fhir.SplitBatch and each entry is
// submitted on its own, in entry order, one after the other (so that one
// patient's entries reach Kafka in order); everything else, transaction
// Bundles included, is one pipeline submission. It blocks until every
// submission has its outcome.
//
// A transaction with conditional or versioned entries is not submitted
// (fhirResult.conds); neither is a batch entry with one (its result keeps
// the entry's Condition): the gateway cannot honour them and never
// ignores them.
func (s *Service) submitFHIR(ctx context.Context, req fhirdoor.Request, raw []byte) fhirResult {
	if req.ResourceType == "" && req.Action == fhir.ActionCreate {
		switch bundleType(raw) {
		case "batch":
			return s.submitBatch(ctx, req, raw)
		case "transaction":
			if conds := fhir.TransactionConditions(raw); len(conds) > 0 {
				s.log.Info("message refused", "method", "fhir.transaction", "type", "Bundle", "reason", string(reasonConditional))
				return fhirResult{req: req, conds: conds, out: conditionOutcome(conds)}
			}
		}
	}
	m, out := s.fhir.Submit(ctx, req, raw)
	res := fhirResult{req: req, msg: m, out: out}
	s.logOutcome("fhir."+string(req.Action), res.resourceType(), out)
	return res
}

// submitBatch answers a batch Bundle. A Bundle that cannot be split is
// refused as a whole (400, nothing written: there is no entry to
// dead-letter). When no entry could be stored because the broker is
// unavailable, the whole batch answers unavailable so that the client
// retries it; otherwise the batch is accepted and each entry carries its
// own outcome.
func (s *Service) submitBatch(ctx context.Context, req fhirdoor.Request, raw []byte) fhirResult {
	res := fhirResult{req: req, batch: true}
	entries, err := fhir.SplitBatch(raw)
	if err != nil {
		res.out = pipeline.Outcome{Status: pipeline.Refused, Stage: pipeline.StageParse, Findings: findingsOf(err)}
		s.logOutcome("fhir.batch", "Bundle", res.out)
		return res
	}
	res.entries = make([]entryResult, 0, len(entries))
	unavailable := 0
	for _, e := range entries {
		if e.Condition != "" {
			res.entries = append(res.entries, entryResult{entry: e})
			continue
		}
		er := fhirdoor.Request{Action: e.Action, ResourceType: e.ResourceType, ID: e.ID, FullURL: e.FullURL}
		m, out := s.fhir.Submit(ctx, er, e.Body)
		s.logOutcome("fhir.batch."+string(e.Action), e.ResourceType, out)
		res.entries = append(res.entries, entryResult{entry: e, msg: m, out: out})
		if out.Status == pipeline.Unavailable {
			unavailable++
		}
		res.out.Deliveries = append(res.out.Deliveries, acceptedDeliveries(out)...)
	}
	res.out.Status = pipeline.Accepted
	if len(entries) > 0 && unavailable == len(entries) {
		res.out = res.entries[0].out
	}
	return res
}

func acceptedDeliveries(out pipeline.Outcome) []pipeline.Delivery {
	if out.Status != pipeline.Accepted {
		return nil
	}
	return out.Deliveries
}

// bundleType is Bundle.type of raw, or "" when raw is not a JSON Bundle.
// It uses fhirval's scanner, several times cheaper than a decode of the
// whole Bundle with encoding/json.
func bundleType(raw []byte) string {
	doc, syntax := fhirval.Scan(raw)
	if len(syntax) > 0 || doc.ResourceType != "Bundle" {
		return ""
	}
	var t string
	if json.Unmarshal(doc.Member("type"), &t) != nil {
		return ""
	}
	return t
}

// conditionOutcome is the outcome of a Bundle refused for its conditions,
// for gRPC (INVALID_ARGUMENT, one field violation per entry); the REST door
// answers from fhirResult.conds instead.
func conditionOutcome(conds []fhir.EntryCondition) pipeline.Outcome {
	out := pipeline.Outcome{Status: pipeline.Refused, Stage: pipeline.StageParse, Reason: reasonConditional}
	for _, c := range conds {
		out.Findings = append(out.Findings, validation.Finding{
			Severity: validation.SeverityError, Code: validation.CodeUnsupportedEvent, Location: c.Location(), Message: c.Condition.Why(),
		})
	}
	return out
}

// findingsOf returns the findings of a *validation.Error, or one internal
// error finding.
func findingsOf(err error) validation.Findings {
	var ve *validation.Error
	if errors.As(err, &ve) && len(ve.Findings) > 0 {
		return ve.Findings
	}
	return validation.Findings{{Severity: validation.SeverityError, Code: validation.CodeInternal, Location: "Bundle", Message: "bundle cannot be split"}}
}

// proto renders the result for SubmitFHIR.
func (r fhirResult) proto() *gatewayv1.SubmitFHIRResponse {
	resp := &gatewayv1.SubmitFHIRResponse{
		Outcome:      protoOutcome(r.out),
		ResourceType: r.resourceType(),
		Id:           r.id(),
	}
	if r.batch {
		resp.ResourceType = "Bundle"
		for _, e := range r.entries {
			if e.entry.Condition != "" {
				resp.Entries = append(resp.Entries, &gatewayv1.FHIREntryResult{
					Index: int32(e.entry.Index), ResourceType: e.entry.ResourceType, Action: protoAction(e.entry.Action),
					Outcome: &gatewayv1.Outcome{Status: gatewayv1.OutcomeStatus_OUTCOME_STATUS_REFUSED, Stage: string(pipeline.StageParse), Reason: string(reasonConditional)},
				})
				continue
			}
			id := e.entry.ID
			if e.msg != nil && e.msg.ID != "" {
				id = e.msg.ID
			}
			resp.Entries = append(resp.Entries, &gatewayv1.FHIREntryResult{
				Index: int32(e.entry.Index), ResourceType: e.entry.ResourceType, Id: id,
				Action: protoAction(e.entry.Action), Outcome: protoOutcome(e.out),
			})
		}
		return resp
	}
	for i, e := range r.transactionEntries() {
		eo := &gatewayv1.Outcome{Status: resp.Outcome.Status}
		if r.out.Status == pipeline.Accepted && len(r.out.Deliveries) == len(r.msg.Entries) {
			d := r.out.Deliveries[i]
			eo.Deliveries = []*gatewayv1.Delivery{{Topic: d.Topic, Partition: d.Partition, Offset: d.Offset}}
		}
		resp.Entries = append(resp.Entries, &gatewayv1.FHIREntryResult{
			Index: int32(e.Index), ResourceType: e.ResourceType, Id: e.ID,
			Action: protoAction(e.Action), Outcome: eo,
		})
	}
	return resp
}

// transactionEntries are the routed entries of a transaction Bundle, or
// nil.
func (r fhirResult) transactionEntries() []fhir.Entry {
	if r.msg == nil || r.msg.BundleType != "transaction" {
		return nil
	}
	return r.msg.Entries
}
