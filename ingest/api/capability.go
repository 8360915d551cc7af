package api

import (
	"encoding/json"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	bcrpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"

	"github.com/hl7gw/gateway/fhir/fhirval"
)

// CapabilityOptions is what the CapabilityStatement (GET [base]/metadata)
// says about the running connector besides what every connector shares.
type CapabilityOptions struct {
	// Published is the statement's date: when the configuration it
	// describes was loaded. Zero means the time NewService ran.
	Published time.Time
	// APIKeys and JWT say which bearer token schemes the connector accepts
	// (auth.api.keys.file, auth.jwt.jwks.*); ClientCertificates that TLS
	// client certificates are required (tls.client.auth require).
	APIKeys, JWT, ClientCertificates bool
	// RecordAsReceived mirrors fhir.record.form as-received: records then
	// carry no meta.versionId, so the statement declares no versioning.
	RecordAsReceived bool
}

// The CapabilityStatement is built with these types; every element the
// gateway states is here, nothing else.
type capabilityStatement struct {
	ResourceType   string       `json:"resourceType"`
	Text           capNarrative `json:"text"`
	Status         string       `json:"status"`
	Date           string       `json:"date"`
	Publisher      string       `json:"publisher"`
	Kind           string       `json:"kind"`
	Software       capSoftware  `json:"software"`
	Implementation capImplement `json:"implementation"`
	FHIRVersion    string       `json:"fhirVersion"`
	Format         []string     `json:"format"`
	Rest           []capRest    `json:"rest"`
	Description    string       `json:"description,omitempty"`
	Name           string       `json:"name,omitempty"`
	Title          string       `json:"title,omitempty"`
}

type capNarrative struct {
	Status string `json:"status"`
	Div    string `json:"div"`
}

type capSoftware struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type capImplement struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

type capRest struct {
	Mode          string           `json:"mode"`
	Documentation string           `json:"documentation"`
	Security      *capSecurity     `json:"security,omitempty"`
	Resource      []capResource    `json:"resource"`
	Interaction   []capInteraction `json:"interaction"`
}

type capSecurity struct {
	Cors        bool             `json:"cors"`
	Service     []codeableConcep `json:"service,omitempty"`
	Description string           `json:"description,omitempty"`
}

type capResource struct {
	Type              string           `json:"type"`
	Interaction       []capInteraction `json:"interaction"`
	Versioning        string           `json:"versioning"`
	ReadHistory       bool             `json:"readHistory"`
	UpdateCreate      bool             `json:"updateCreate"`
	ConditionalCreate bool             `json:"conditionalCreate"`
	ConditionalRead   string           `json:"conditionalRead"`
	ConditionalUpdate bool             `json:"conditionalUpdate"`
	ConditionalDelete string           `json:"conditionalDelete"`
}

type capInteraction struct {
	Code          string `json:"code"`
	Documentation string `json:"documentation,omitempty"`
}

const securityServiceSystem = "http://terminology.hl7.org/CodeSystem/restful-security-service"

// restDocumentation says what the facade is, in the statement itself, so a
// client that reads only the statement learns it cannot read back.
const restDocumentation = "Write-only FHIR R4 facade in front of Kafka. create (POST), update (PUT), " +
	"delete (DELETE), transaction and batch (POST [base]) are published as records on " +
	"fhir.TYPE.created, .updated and .deleted topics and answered only after the broker acknowledged them; " +
	"a transaction is one Kafka transaction (all or nothing). There is no read, vread, search or history: " +
	"those requests are answered 405 with an OperationOutcome. Conditional and versioned requests " +
	"(If-None-Exist, If-Match, If-None-Match, conditional update or delete) are refused, never ignored: " +
	"there is no store to search or compare against. Prefer: return=minimal, return=representation and " +
	"return=OperationOutcome are honoured. Only JSON is served (application/fhir+json, FHIR 4.0); " +
	"XML or another FHIR version is answered 406 or 415."

// capability renders the CapabilityStatement for base ("" omits
// implementation.url).
func capability(o CapabilityOptions, base string) []byte {
	versioning := "versioned"
	if o.RecordAsReceived {
		versioning = "no-version"
	}
	types := resourceTypes()
	res := make([]capResource, 0, len(types))
	for _, t := range types {
		res = append(res, capResource{
			Type:              t,
			Interaction:       []capInteraction{{Code: "create"}, {Code: "update"}, {Code: "delete"}},
			Versioning:        versioning,
			UpdateCreate:      true,
			ConditionalRead:   "not-supported",
			ConditionalDelete: "not-supported",
		})
	}
	cs := capabilityStatement{
		ResourceType: "CapabilityStatement",
		Text: capNarrative{Status: "generated", Div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>Write-only FHIR R4 facade: ` +
			`create, update, delete, transaction and batch of ` + strconv.Itoa(len(res)) + ` resource types are published to Kafka; ` +
			`no read, search or history.</p></div>`},
		Name:        "HL7GatewayFHIRFacade",
		Title:       "HL7 v2 / FHIR ingestion gateway: FHIR REST door",
		Status:      "active",
		Date:        o.Published.UTC().Format(time.RFC3339),
		Publisher:   "hl7gw gateway",
		Description: "A write-only FHIR R4 server that publishes what it accepts to Kafka.",
		Kind:        "instance",
		Software:    capSoftware{Name: "hl7gw gateway", Version: softwareVersion()},
		Implementation: capImplement{
			Description: "FHIR REST door of the gateway (write-only; records on Kafka)", URL: base,
		},
		FHIRVersion: "4.0.1",
		Format:      []string{"application/fhir+json", "json"},
		Rest: []capRest{{
			Mode:          "server",
			Documentation: restDocumentation,
			Security:      securityOf(o),
			Resource:      res,
			Interaction:   []capInteraction{{Code: "transaction"}, {Code: "batch"}},
		}},
	}
	b, err := json.Marshal(cs)
	if err != nil {
		panic("api: marshal CapabilityStatement: " + err.Error()) // strings and bools only
	}
	return b
}

// securityOf states the token schemes the connector is configured with.
func securityOf(o CapabilityOptions) *capSecurity {
	sec := &capSecurity{}
	var how []string
	if o.JWT {
		sec.Service = append(sec.Service, codeableConcep{
			Coding: []coding{{System: securityServiceSystem, Code: "OAuth", Display: "OAuth"}},
			Text:   "Bearer JWT (RS256/ES256) from the configured issuer",
		})
		how = append(how, "JWT bearer tokens (RS256/ES256, exp required, iss and aud checked)")
	}
	if o.APIKeys {
		sec.Service = append(sec.Service, codeableConcep{Text: "Bearer API key"})
		how = append(how, "API keys sent as bearer tokens")
	}
	if o.ClientCertificates {
		sec.Service = append(sec.Service, codeableConcep{
			Coding: []coding{{System: securityServiceSystem, Code: "Certificates", Display: "Certificates"}},
		})
		how = append(how, "TLS client certificates")
	}
	switch {
	case len(how) == 0:
		sec.Description = "No authentication is configured on this connector."
	case o.JWT || o.APIKeys:
		sec.Description = "Requests need " + strings.Join(how, "; ") +
			". Writes need the scope fhir:write; GET [base]/metadata needs no token."
	default:
		sec.Description = "Requests need " + strings.Join(how, "; ") + "."
	}
	return sec
}

// resourceTypes are the R4 resource types the gateway accepts: every one
// google/fhir's R4 ContainedResource holds, as fhirval.KnownResourceType,
// sorted.
func resourceTypes() []string {
	od := (&bcrpb.ContainedResource{}).ProtoReflect().Descriptor().Oneofs().ByName("oneof_resource")
	var out []string
	for i := 0; od != nil && i < od.Fields().Len(); i++ {
		if m := od.Fields().Get(i).Message(); m != nil && fhirval.KnownResourceType(string(m.Name())) {
			out = append(out, string(m.Name()))
		}
	}
	sort.Strings(out)
	return out
}

// softwareVersion is the main module's version from the build info.
func softwareVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "unknown"
}
