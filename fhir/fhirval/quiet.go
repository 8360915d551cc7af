package fhirval

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	apb "github.com/google/fhir/go/proto/google/fhir/proto/annotations_go_proto"
	d4pb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
)

// google/fhir's validating unmarshaller is most of the cost of a FHIR
// POST, and on the resources clients send most of the time it reports
// nothing. quietForGoogle decides, from the generic decode the
// definitions walk reads anyway, that it would report nothing, so that
// check can skip it. It walks the same R4 message descriptors
// google/fhir fills, and follows the same rules (jsonformat's
// unmarshaller and fhirvalidate: field names, choice names, arrays,
// primitive formats, codes of bound enums, reference targets, required
// fields, primitive extensions, nesting depth), each the same or stricter.
// Whatever it does not model (resources inside Parameters, upper-case
// keys, extensions of a primitive without its value, ...) makes it answer
// false, and google/fhir runs as before. The claim "quiet implies google/fhir
// reports nothing" is what quiet_test.go checks, over the corpus and
// thousands of mutations of it, and FuzzQuietImpliesGoogleQuiet beyond.

// quietMaxDepth keeps the walk clear of google/fhir's nesting limit (it
// counts the dots of its JSON path, which adds a segment per contained
// resource's type).
const quietMaxDepth = DefaultMaxDepth / 2

// quietForGoogle reports whether google/fhir's R4 unmarshaller would find
// nothing to report in the resource v (decodeGeneric's output for a body
// the scanner found no fault in). False means "not known", not "invalid".
func quietForGoogle(v any, body []byte) bool {
	obj, ok := v.(map[string]any)
	return ok && (&quietWalk{body: body}).quietResource(obj, 0)
}

// quietWalk is one walk's state: the body, for what the decode does not
// keep (which strings were escaped).
type quietWalk struct {
	body    []byte
	escapes int8 // 0 not looked yet, 1 none, 2 some
}

// mayEscapeBase64 reports whether a string of the body may spell a
// base64 character with an escape (\/ or \u...). When it cannot, a
// decoded string made only of base64 characters is exactly its raw JSON
// text, which is what google/fhir decodes (it reads base64Binary from
// the raw bytes, unescaped).
func (q *quietWalk) mayEscapeBase64() bool {
	if q.escapes == 0 {
		q.escapes = 1
		if bytes.Contains(q.body, []byte(`\/`)) || bytes.Contains(q.body, []byte(`\u`)) {
			q.escapes = 2
		}
	}
	return q.escapes == 2
}

// quietBase64 is what google/fhir's base64Binary reader accepts without
// its space-separated stride form: standard base64 with padding.
func (q *quietWalk) quietBase64(v any) bool {
	s, ok := v.(string)
	if !ok || len(s)%4 != 0 || q.mayEscapeBase64() {
		return false
	}
	pad := len(s) - len(strings.TrimRight(s, "="))
	if pad > 2 {
		return false
	}
	for i := 0; i < len(s)-pad; i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

func (q *quietWalk) quietResource(obj map[string]any, depth int) bool {
	rt, _ := obj["resourceType"].(string)
	md := resourcesByName[rt]
	return md != nil && q.quietMessage(obj, md, depth+1, true)
}

// quietMessage walks one JSON object filling message md.
func (q *quietWalk) quietMessage(obj map[string]any, md protoreflect.MessageDescriptor, depth int, resource bool) bool {
	if depth > quietMaxDepth {
		return false
	}
	sh := shapeOf(md)
	var choices []protoreflect.FieldDescriptor // google refuses two keys for one choice
	for k, v := range obj {
		if resource && k == "resourceType" {
			continue
		}
		if len(k) > 1 && k[0] == '_' {
			if !q.quietPrimitiveExtensions(sh, obj, k[1:], v, depth+1) {
				return false
			}
			continue
		}
		ki, ok := sh.keys[k]
		if !ok {
			return false
		}
		target := ki.f
		if ki.choice != nil {
			for _, c := range choices {
				if c == ki.f {
					return false
				}
			}
			choices = append(choices, ki.f)
			target = ki.choice
		}
		if !q.quietField(k, target, v, depth+1) {
			return false
		}
	}
	for _, r := range sh.required {
		if !quietPresent(obj, r, choices) {
			return false
		}
	}
	return true
}

// quietPrimitiveExtensions checks "_name", the id and extensions of the
// primitive element name, which must have its value beside it: a primitive
// with extensions only, a null in "_name"'s array or arrays of different
// lengths are left to google/fhir, as are choice elements ("_valueString").
func (q *quietWalk) quietPrimitiveExtensions(sh *msgShape, obj map[string]any, name string, ext any, depth int) bool {
	ki, ok := sh.keys[name]
	if !ok || ki.choice != nil || ki.f.Message() == nil || shapeOf(ki.f.Message()).prim == nil {
		return false
	}
	md := ki.f.Message()
	if ki.f.Cardinality() != protoreflect.Repeated {
		m, isObj := ext.(map[string]any)
		return isObj && obj[name] != nil && q.quietMessage(m, md, depth, false)
	}
	vals, _ := obj[name].([]any)
	exts, _ := ext.([]any)
	if len(vals) == 0 || len(exts) != len(vals) {
		return false
	}
	for _, e := range exts {
		m, isObj := e.(map[string]any)
		if !isObj || !q.quietMessage(m, md, depth, false) {
			return false
		}
	}
	return true
}

// quietPresent reports whether required field f has a value in obj.
func quietPresent(obj map[string]any, f protoreflect.FieldDescriptor, choices []protoreflect.FieldDescriptor) bool {
	if isChoiceMessage(f.Message()) {
		for _, c := range choices {
			if c == f {
				return true
			}
		}
		return false
	}
	return obj[f.JSONName()] != nil
}

// quietField checks the value of one key, filling field f.
func (q *quietWalk) quietField(key string, f protoreflect.FieldDescriptor, v any, depth int) bool {
	md := f.Message()
	if md == nil {
		return false // a primitive proto field (a primitive's "value"): google says "invalid field"
	}
	if f.Cardinality() != protoreflect.Repeated {
		if _, isArr := v.([]any); isArr {
			return false
		}
		return q.quietValue(key, f, md, v, depth)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return false
	}
	for _, item := range arr {
		if !q.quietValue(key, f, md, item, depth) {
			return false
		}
	}
	return true
}

// quietValue checks one value of field f, of message type md.
func (q *quietWalk) quietValue(key string, f protoreflect.FieldDescriptor, md protoreflect.MessageDescriptor, v any, depth int) bool {
	sh := shapeOf(md)
	if sh.prim != nil {
		return sh.prim(q, v)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	switch {
	case sh.contained:
		return q.quietResource(obj, depth)
	case sh.any:
		return key == "contained" && q.quietResource(obj, depth)
	case sh.reference:
		return q.quietMessage(obj, md, depth, false) && quietReference(f, obj)
	}
	return q.quietMessage(obj, md, depth, false)
}

// quietReference follows google/fhir's normalization of Reference.reference
// ("Patient/1" and "Patient/1/_history/2" become typed ids) and
// fhirvalidate's check of the typed id against the types the element
// allows.
func quietReference(f protoreflect.FieldDescriptor, obj map[string]any) bool {
	s, _ := obj["reference"].(string)
	if s == "" || s[0] == '#' {
		return true
	}
	parts := strings.Split(s, "/")
	if !(len(parts) == 2 || len(parts) == 4 && parts[2] == "_history") {
		return true
	}
	if !refTypes()[parts[0]] {
		return true // stays a plain reference string
	}
	allowed := validReferenceTypes(f)
	if len(allowed) == 0 {
		return true
	}
	for _, t := range allowed {
		if t == "Resource" || t == parts[0] {
			return true
		}
	}
	return false
}

func validReferenceTypes(f protoreflect.FieldDescriptor) []string {
	ts, _ := proto.GetExtension(f.Options(), apb.E_ValidReferenceType).([]string)
	return ts
}

// refTypes are the resource types a Reference can hold a typed id of.
var refTypes = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{}
	od := (&d4pb.Reference{}).ProtoReflect().Descriptor().Oneofs().ByName("reference")
	for i := 0; od != nil && i < od.Fields().Len(); i++ {
		if t, _ := proto.GetExtension(od.Fields().Get(i).Options(), apb.E_ReferencedFhirType).(string); t != "" {
			out[t] = true
		}
	}
	return out
})

// msgShape is what the walk needs of one message type.
type msgShape struct {
	keys     map[string]keyField
	required []protoreflect.FieldDescriptor
	// prim checks a primitive's JSON value; nil for other messages.
	prim                      primCheck
	contained, any, reference bool
}

// primCheck checks the JSON value of a primitive; the walk is there for
// what the decode does not keep (see mayEscapeBase64).
type primCheck func(q *quietWalk, v any) bool

// keyField is the field a JSON key fills; for a choice key ("valueQuantity")
// f is the choice field and choice the type's field inside it.
type keyField struct {
	f, choice protoreflect.FieldDescriptor
}

var shapes sync.Map // protoreflect.FullName -> *msgShape

func shapeOf(md protoreflect.MessageDescriptor) *msgShape {
	if sh, ok := shapes.Load(md.FullName()); ok {
		return sh.(*msgShape)
	}
	sh, _ := shapes.LoadOrStore(md.FullName(), buildShape(md))
	return sh.(*msgShape)
}

func buildShape(md protoreflect.MessageDescriptor) *msgShape {
	sh := &msgShape{keys: map[string]keyField{}}
	switch {
	case md.FullName() == "google.protobuf.Any":
		sh.any = true
		return sh
	case md.Name() == "ContainedResource":
		sh.contained = true
		return sh
	case isPrimitiveMessage(md):
		sh.prim = primitiveCheck(md)
		if sh.prim == nil {
			sh.prim = func(*quietWalk, any) bool { return false }
		}
	}
	sh.reference = proto.HasExtension(md.Options(), apb.E_FhirReferenceType)
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if req, _ := proto.GetExtension(f.Options(), apb.E_ValidationRequirement).(apb.Requirement); req == apb.Requirement_REQUIRED_BY_FHIR {
			sh.required = append(sh.required, f)
		}
		if sh.reference && f.ContainingOneof() != nil && f.Name() != "uri" {
			continue // typed ids and fragments are not JSON keys
		}
		if isChoiceMessage(f.Message()) {
			cf := f.Message().Fields()
			for j := 0; j < cf.Len(); j++ {
				sh.keys[f.JSONName()+upperFirst(cf.Get(j).JSONName())] = keyField{f: f, choice: cf.Get(j)}
			}
			continue
		}
		sh.keys[f.JSONName()] = keyField{f: f}
	}
	return sh
}

func isPrimitiveMessage(md protoreflect.MessageDescriptor) bool {
	k, _ := proto.GetExtension(md.Options(), apb.E_StructureDefinitionKind).(apb.StructureDefinitionKindValue)
	return k == apb.StructureDefinitionKindValue_KIND_PRIMITIVE_TYPE
}

func isChoiceMessage(md protoreflect.MessageDescriptor) bool {
	return md != nil && proto.HasExtension(md.Options(), apb.E_IsChoiceType)
}

// primitiveCheck returns the check of a primitive type's JSON value, or
// nil for the types the walk leaves to google/fhir.
func primitiveCheck(md protoreflect.MessageDescriptor) primCheck {
	switch md.Name() {
	case "String", "Markdown", "Xhtml":
		return func(_ *quietWalk, v any) bool { s, ok := v.(string); return ok && quietString(s) }
	case "Code":
		return func(_ *quietWalk, v any) bool { s, ok := v.(string); return ok && quietCode(s) }
	case "Id":
		return func(_ *quietWalk, v any) bool { s, ok := v.(string); return ok && ValidID(s) }
	case "Uri", "Url", "Canonical":
		return func(_ *quietWalk, v any) bool {
			s, ok := v.(string)
			if !ok || !quietString(s) {
				return false
			}
			_, err := url.Parse(s)
			return err == nil
		}
	case "Oid", "Uuid":
		re, _ := proto.GetExtension(md.Options(), apb.E_ValueRegex).(string)
		if re == "" {
			return nil
		}
		rx := regexp.MustCompile("^(?:" + re + ")$")
		return func(_ *quietWalk, v any) bool {
			s, ok := v.(string)
			return ok && quietString(s) && rx.MatchString(s)
		}
	case "Base64Binary":
		return (*quietWalk).quietBase64
	case "Boolean":
		return func(_ *quietWalk, v any) bool { _, ok := v.(bool); return ok }
	case "Integer":
		return func(_ *quietWalk, v any) bool { n, ok := v.(json.Number); return ok && quietInt(string(n), true, true) }
	case "UnsignedInt":
		return func(_ *quietWalk, v any) bool {
			n, ok := v.(json.Number)
			return ok && quietInt(string(n), false, true)
		}
	case "PositiveInt":
		return func(_ *quietWalk, v any) bool {
			n, ok := v.(json.Number)
			return ok && quietInt(string(n), false, false)
		}
	case "Decimal":
		return func(_ *quietWalk, v any) bool { n, ok := v.(json.Number); return ok && quietDecimal(string(n)) }
	case "Date":
		return func(_ *quietWalk, v any) bool { s, ok := v.(string); return ok && quietDate(s) }
	case "DateTime":
		return func(_ *quietWalk, v any) bool { s, ok := v.(string); return ok && quietDateTime(s, false) }
	case "Instant":
		return func(_ *quietWalk, v any) bool { s, ok := v.(string); return ok && quietDateTime(s, true) }
	case "Time":
		return func(_ *quietWalk, v any) bool { s, ok := v.(string); return ok && quietTime(s) }
	}
	if !proto.HasExtension(md.Options(), apb.E_FhirValuesetUrl) {
		return nil // ReferenceId, ...
	}
	vf := md.Fields().ByName("value")
	switch {
	case vf == nil:
		return nil
	case vf.Kind() == protoreflect.StringKind:
		return func(_ *quietWalk, v any) bool { s, ok := v.(string); return ok && quietString(s) }
	case vf.Kind() == protoreflect.EnumKind:
		enum := vf.Enum()
		return func(_ *quietWalk, v any) bool {
			s, ok := v.(string)
			return ok && quietString(s) && quietEnum(enum, s)
		}
	}
	return nil
}

// quietEnum is jsonformat's lookup of a bound code: the enum value named
// by the code upper-cased with '-' as '_', or one whose original code it is.
func quietEnum(e protoreflect.EnumDescriptor, code string) bool {
	if v := e.Values().ByName(protoreflect.Name(strings.ReplaceAll(strings.ToUpper(code), "-", "_"))); v != nil && v.Number() != 0 {
		return true
	}
	vals := e.Values()
	for i := 0; i < vals.Len(); i++ {
		if orig, _ := proto.GetExtension(vals.Get(i).Options(), apb.E_FhirOriginalCode).(string); orig == code {
			return true
		}
	}
	return false
}
