package fhirval

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	apb "github.com/google/fhir/go/proto/google/fhir/proto/annotations_go_proto"
	bcrpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"

	"github.com/hl7gw/gateway/validation"
)

// googleIssue is one error google/fhir reported: its JSON path and its
// Details text (which google/fhir documents as free of patient data; its
// Diagnostics may contain values and are never read except for the name
// of an unknown element).
type googleIssue struct {
	path, details, diagnostics string
}

// unmarshalFindings runs google/fhir's validating unmarshaller and turns
// its errors into findings. The unmarshaller's error types live in an
// internal package, so their exported fields are read by reflection.
// Resources google/fhir cannot read in place (see fhirPathIn) are
// validated on their own and their findings placed under their element.
func unmarshalFindings(body []byte) validation.Findings {
	u, err := r4Unmarshaller()
	if err != nil {
		return validation.Findings{errorAt(validation.CodeInternal, "", "FHIR R4 unmarshaller unavailable")}
	}
	rep := &reporter{}
	_, err = u.UnmarshalWithErrorReporter(body, rep)
	issues := rep.issues
	if err != nil {
		parsed := issuesOf(err)
		if len(parsed) == 0 {
			return validation.Findings{errorAt(validation.CodeDataType, "", "resource could not be read")}
		}
		issues = append(parsed, issues...)
	}
	fs := make(validation.Findings, 0, len(issues))
	var nested []string
	for _, is := range issues {
		if _, in := fhirPathIn(is.path); in != "" {
			if !contains(nested, in) {
				nested = append(nested, in)
			}
			continue
		}
		fs = append(fs, is.finding())
		if len(fs) == maxFindings {
			break
		}
	}
	for _, loc := range nested {
		fs = append(fs, nestedFindings(body, loc)...)
	}
	return fs
}

// nestedFindings validates the resource at loc (a FHIRPath location such
// as "Parameters.parameter[0].resource") with google/fhir and roots its
// findings at loc. The element is found by a generic decode of the path,
// which only bodies holding such resources pay.
func nestedFindings(body []byte, loc string) validation.Findings {
	raw := rawAt(body, strings.Split(loc, ".")[1:])
	if raw == nil {
		return nil
	}
	fs := unmarshalFindings(raw)
	for i := range fs {
		rel := fs[i].Location
		if j := strings.IndexByte(rel, '.'); j >= 0 {
			rel = rel[j:]
		} else {
			rel = ""
		}
		fs[i].Location = loc + rel
	}
	return fs
}

// rawAt returns the raw JSON at a member path ("parameter[0]",
// "resource") below the object body, or nil when there is none.
func rawAt(body []byte, path []string) json.RawMessage {
	raw := json.RawMessage(body)
	for _, seg := range path {
		name, idx := splitIndex(seg)
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
		if raw = obj[name]; raw == nil {
			return nil
		}
		if idx == "" {
			continue
		}
		n, _ := strconv.Atoi(idx[1 : len(idx)-1])
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil || n >= len(arr) {
			return nil
		}
		raw = arr[n]
	}
	return raw
}

// reporter collects google/fhir's validation-phase errors (required
// elements, primitive formats, reference types).
type reporter struct{ issues []googleIssue }

func (r *reporter) ReportValidationError(path string, err error) error {
	for _, is := range issuesOf(err) {
		if is.path == "" {
			is.path = path
		}
		r.issues = append(r.issues, is)
	}
	return nil
}

// ReportValidationWarning ignores google/fhir's warnings (it emits none for
// R4 today).
func (r *reporter) ReportValidationWarning(string, error) error { return nil }

// issuesOf reads google/fhir's *UnmarshalError and UnmarshalErrorList by
// their exported fields Path, Details and Diagnostics.
func issuesOf(err error) []googleIssue {
	v := reflect.ValueOf(err)
	switch v.Kind() {
	case reflect.Slice:
		out := make([]googleIssue, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			if is, ok := issueOf(v.Index(i)); ok {
				out = append(out, is)
			}
		}
		return out
	case reflect.Pointer:
		if is, ok := issueOf(v); ok {
			return []googleIssue{is}
		}
	}
	return nil
}

func issueOf(v reflect.Value) (googleIssue, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return googleIssue{}, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return googleIssue{}, false
	}
	p, d, g := v.FieldByName("Path"), v.FieldByName("Details"), v.FieldByName("Diagnostics")
	if !p.IsValid() || !d.IsValid() || p.Kind() != reflect.String || d.Kind() != reflect.String {
		return googleIssue{}, false
	}
	is := googleIssue{path: p.String(), details: d.String()}
	if g.IsValid() && g.Kind() == reflect.String {
		is.diagnostics = g.String()
	}
	return is, true
}

// finding maps one google/fhir error to a code, a FHIRPath location and a
// fixed message.
func (is googleIssue) finding() validation.Finding {
	loc := fhirPath(is.path)
	d := is.details
	f := validation.Finding{Severity: validation.SeverityError, Code: validation.CodeDataType, Location: loc}
	switch {
	case d == "unknown field":
		name, err := strconv.Unquote(is.diagnostics)
		if err != nil {
			name = "*"
		}
		f.Code, f.Message = validation.CodeSegmentSequence, "unknown element"
		f.Location = joinPath(loc, safeName(name))
	case strings.HasPrefix(d, "missing required field"):
		name, err := strconv.Unquote(strings.TrimSpace(strings.TrimPrefix(d, "missing required field")))
		if err != nil {
			name = "*"
		}
		f.Code, f.Message = validation.CodeRequiredMissing, "required element missing"
		f.Location = joinPath(loc, safeName(name))
	case d == "code type mismatch":
		f.Code, f.Message = validation.CodeTableValue, "code not in the required value set"
	case strings.HasPrefix(d, "invalid reference"), d == "unexpected reference":
		f.Message = "invalid reference"
	case d == "unknown resource type":
		f.Code, f.Message = validation.CodeUnsupportedType, "unknown R4 resource type"
	case strings.HasPrefix(d, "missing required field \"resourceType\""):
		f.Code, f.Message = validation.CodeRequiredMissing, "resourceType missing"
	case strings.HasPrefix(d, "cannot accept multiple values"):
		f.Code, f.Message = validation.CodeSegmentSequence, "more than one value for a choice element"
	case d == "expected array":
		f.Code, f.Message = validation.CodeSegmentSequence, "repeating element is not an array"
	case d == "invalid JSON", d == "invalid field", d == "invalid extension field":
		f.Code, f.Message = validation.CodeSegmentSequence, "element has the wrong JSON shape"
	case strings.HasPrefix(d, "string contains invalid characters"):
		f.Message = "string contains invalid characters"
	case strings.HasPrefix(d, "field exceeded the maximum nesting depth"):
		f.Code, f.Message = validation.CodeSegmentSequence, "nesting too deep"
	case strings.HasPrefix(d, "expected "), strings.HasPrefix(d, "invalid "),
		strings.HasPrefix(d, "non-negative integer"), strings.HasPrefix(d, "string exceeds"):
		// google/fhir's primitive messages name the type, never the value.
		f.Message = d
	default:
		f.Message = "invalid value"
	}
	return f
}

func joinPath(loc, name string) string {
	if loc == "" {
		return name
	}
	return loc + "." + name
}

var (
	resourcesByName = map[string]protoreflect.MessageDescriptor{}
	resourcesByJSON = map[string]protoreflect.MessageDescriptor{}
)

func init() {
	od := (&bcrpb.ContainedResource{}).ProtoReflect().Descriptor().Oneofs().ByName("oneof_resource")
	if od == nil {
		return
	}
	for i := 0; i < od.Fields().Len(); i++ {
		f := od.Fields().Get(i)
		if f.Message() == nil {
			continue
		}
		resourcesByName[string(f.Message().Name())] = f.Message()
		resourcesByJSON[f.JSONName()] = f.Message()
	}
}

// KnownResourceType reports whether t is an R4 resource type name
// ("Patient", "Bundle", ...), case-sensitively.
func KnownResourceType(t string) bool {
	_, ok := resourcesByName[t]
	return ok
}

// fhirPath turns a google/fhir path ("Bundle.entry[0].resource.patient.
// name[0]", "Observation.value.quantity") into FHIRPath
// ("Bundle.entry[0].resource.name[0]", "Observation.valueQuantity") by
// walking the R4 descriptors: resource-type segments under resource /
// contained / outcome are dropped and choice elements are joined with their
// type. Segments it cannot follow are kept as they are (sanitised).
func fhirPath(p string) string {
	loc, _ := fhirPathIn(p)
	return loc
}

// fhirPathIn is fhirPath also returning, when the path runs into a
// resource that google/fhir holds as a google.protobuf.Any it does not
// read (Parameters.parameter.resource: every element of it is "unknown"),
// the FHIRPath location of that element; otherwise nested is "".
func fhirPathIn(p string) (loc, nested string) {
	if p == "" {
		return "", ""
	}
	segs := strings.Split(p, ".")
	md := resourcesByName[segs[0]]
	out := make([]string, 1, len(segs))
	out[0] = safeName(segs[0])
	if md == nil {
		out[0] = "Resource"
	}
	for i := 1; i < len(segs); i++ {
		name, idx := splitIndex(segs[i])
		if md == nil {
			out = append(out, safeName(name)+idx)
			continue
		}
		fd := md.Fields().ByJSONName(name)
		if fd == nil {
			md = nil
			out = append(out, safeName(name)+idx)
			continue
		}
		msg := fd.Message()
		switch {
		case msg == nil:
			md = nil
			out = append(out, name+idx)
		case isChoice(msg) && i+1 < len(segs):
			tname, tidx := splitIndex(segs[i+1])
			out = append(out, name+upperFirst(safeName(tname))+tidx)
			if cf := msg.Fields().ByJSONName(tname); cf != nil {
				md = cf.Message()
			} else {
				md = nil
			}
			i++
		case msg.Name() == "ContainedResource" || msg.FullName() == "google.protobuf.Any":
			out = append(out, name+idx)
			md = nil
			if i+1 < len(segs) {
				rt, _ := splitIndex(segs[i+1])
				if r := resourcesByName[rt]; r != nil {
					md = r
					i++
				} else if r := resourcesByJSON[rt]; r != nil {
					md = r
					i++
				}
			}
			if md == nil && msg.FullName() == "google.protobuf.Any" && name != "contained" && nested == "" {
				nested = strings.Join(out, ".")
			}
		default:
			md = msg
			out = append(out, name+idx)
		}
	}
	return strings.Join(out, "."), nested
}

func isChoice(md protoreflect.MessageDescriptor) bool {
	return proto.HasExtension(md.Options(), apb.E_IsChoiceType)
}

// splitIndex splits "name[3]" into "name" and "[3]".
func splitIndex(seg string) (string, string) {
	if i := strings.IndexByte(seg, '['); i >= 0 && strings.HasSuffix(seg, "]") {
		if _, err := strconv.Atoi(seg[i+1 : len(seg)-1]); err == nil {
			return seg[:i], seg[i:]
		}
	}
	return seg, ""
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
