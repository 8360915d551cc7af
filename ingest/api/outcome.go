package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/hl7gw/gateway/fhir"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/validation"
)

// This file renders the FHIR resources the REST door answers with:
// OperationOutcome for errors and informational answers, and the
// transaction-response and batch-response Bundles. Issues speak FHIR: the
// issue type (structure, required, value, not-supported, ...) in code, the
// finding's FHIRPath in expression and the rule that failed in details and
// diagnostics; never message content, and no HL7 v2 vocabulary (the
// findings' table 0357 numbers stay in metrics, logs and DLQ headers).

type operationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []issue `json:"issue"`
}

type issue struct {
	Severity    string          `json:"severity"`
	Code        string          `json:"code"`
	Details     *codeableConcep `json:"details,omitempty"`
	Diagnostics string          `json:"diagnostics,omitempty"`
	Expression  []string        `json:"expression,omitempty"`
}

type codeableConcep struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// findingIssue renders one finding as an OperationOutcome issue.
func findingIssue(f validation.Finding) issue {
	is := issue{
		Severity:    f.Severity.String(),
		Code:        f.Code.FHIRIssueType(),
		Diagnostics: f.Message,
	}
	if f.Message != "" {
		is.Details = &codeableConcep{Text: f.Message}
	}
	if f.Location != "" {
		is.Expression = []string{f.Location}
		is.Diagnostics = f.Location + ": " + f.Message
	}
	return is
}

// outcomeIssues are the issues that explain out: the findings for content
// errors (plus a summary when there are none), a transient or throttled
// issue when it was not stored, an informational issue and the warnings
// when it was accepted. what names the subject ("Patient/123").
func outcomeIssues(out pipeline.Outcome, what string) []issue {
	var issues []issue
	switch out.Status {
	case pipeline.Accepted:
		issues = append(issues, issue{Severity: "information", Code: "informational", Diagnostics: acceptedText(out, what)})
	case pipeline.Invalid, pipeline.Refused:
		if !out.Findings.HasErrors() {
			issues = append(issues, issue{Severity: "error", Code: "invalid", Diagnostics: statusMessage(out)})
		}
	default:
		code := "transient"
		if grpcCode(out) == codes.ResourceExhausted {
			code = "throttled"
		}
		issues = append(issues, issue{Severity: "error", Code: code, Diagnostics: statusMessage(out)})
	}
	for _, f := range out.Findings {
		if out.Status == pipeline.Unavailable && f.Severity != validation.SeverityError {
			continue
		}
		issues = append(issues, findingIssue(f))
	}
	return issues
}

// acceptedText says where an accepted message went, e.g. "Patient/123
// stored: fhir.patient.created[0]@42".
func acceptedText(out pipeline.Outcome, what string) string {
	var b strings.Builder
	if what != "" {
		b.WriteString(what)
		b.WriteByte(' ')
	}
	b.WriteString("stored")
	for i, d := range out.Deliveries {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(d.Topic)
		b.WriteByte('[')
		b.WriteString(strconv.FormatInt(int64(d.Partition), 10))
		b.WriteString("]@")
		b.WriteString(strconv.FormatInt(d.Offset, 10))
	}
	return b.String()
}

// renderOutcome is the OperationOutcome JSON for issues.
func renderOutcome(issues []issue) []byte {
	b, err := json.Marshal(operationOutcome{ResourceType: "OperationOutcome", Issue: issues})
	if err != nil {
		// Only strings and slices of them: Marshal cannot fail.
		panic("api: marshal OperationOutcome: " + err.Error())
	}
	return b
}

// simpleOutcome is an OperationOutcome with one issue and no finding, for
// answers the door gives on its own (415, 413, 404, 405).
func simpleOutcome(severity, code, diagnostics string) []byte {
	return renderOutcome([]issue{{Severity: severity, Code: code, Diagnostics: diagnostics}})
}

type bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Entry        []bundleEntry `json:"entry"`
}

type bundleEntry struct {
	FullURL  string         `json:"fullUrl,omitempty"`
	Response bundleResponse `json:"response"`
}

type bundleResponse struct {
	Status       string            `json:"status"`
	Location     string            `json:"location,omitempty"`
	Etag         string            `json:"etag,omitempty"`
	LastModified string            `json:"lastModified,omitempty"`
	Outcome      *operationOutcome `json:"outcome,omitempty"`
}

// conditionResponse is the response of a batch entry refused for its
// condition: 412 (a precondition) or 400 (a search URL), not submitted.
func conditionResponse(c fhir.EntryCondition) bundleResponse {
	code := http.StatusBadRequest
	if c.Condition.Precondition() {
		code = http.StatusPreconditionFailed
	}
	return bundleResponse{
		Status: strconv.Itoa(code) + " " + http.StatusText(code),
		Outcome: &operationOutcome{ResourceType: "OperationOutcome", Issue: []issue{{
			Severity: "error", Code: "not-supported", Diagnostics: c.Condition.Why(), Expression: []string{c.Location()},
		}}},
	}
}

// lastModified is Bundle.entry.response.lastModified of a stored entry:
// its meta.lastUpdated; "" when it was not stored.
func lastModified(out pipeline.Outcome, t time.Time) string {
	if out.Status != pipeline.Accepted || t.IsZero() {
		return ""
	}
	return t.UTC().Format(fhir.InstantFormat)
}

// entryResponse is one Bundle.entry.response: status line (201 for a
// stored create), and when stored the location and etag of the version
// vid (none when vid is "", as for a delete), an OperationOutcome
// otherwise.
func entryResponse(out pipeline.Outcome, action fhir.Action, resourceType, id, vid string) bundleResponse {
	code := httpStatus(out, action == fhir.ActionCreate)
	r := bundleResponse{Status: strconv.Itoa(code) + " " + http.StatusText(code)}
	if out.Status == pipeline.Accepted {
		if resourceType != "" && id != "" && vid != "" {
			r.Location = resourceType + "/" + id + "/_history/" + vid
			r.Etag = `W/"` + vid + `"`
		}
		return r
	}
	r.Outcome = &operationOutcome{ResourceType: "OperationOutcome", Issue: outcomeIssues(out, "")}
	return r
}

func renderBundle(b bundle) []byte {
	if b.Entry == nil {
		b.Entry = []bundleEntry{}
	}
	out, err := json.Marshal(b)
	if err != nil {
		panic("api: marshal Bundle: " + err.Error())
	}
	return out
}
