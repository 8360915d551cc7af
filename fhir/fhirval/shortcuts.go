package fhirval

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/hl7gw/gateway/fhir/r4spec"
)

// This file holds sufficient conditions for the invariants the walk
// evaluates most often: checked in Go on the element's object before the
// FHIRPath evaluation, a condition that holds decides the invariant true
// (it cannot fail) and the evaluation is skipped; one that does not hold
// decides nothing, and the expression is evaluated as before. So a
// shortcut changes no finding, it only spares the common case: no
// contained resources, a reference that is not "#...", an extension with
// exactly one of a value and sub-extensions.
//
// Shortcuts are keyed by the exact expression text, so a constraint whose
// published text differs (another release, an erratum) is evaluated.

// shortcuts maps an invariant's FHIRPath source to a condition on the
// element's JSON object under which the invariant is true.
var shortcuts = map[string]func(obj map[string]any) bool{
	// dom-2, dom-4, dom-5: about contained resources, true without any.
	"contained.contained.empty()": noContained,
	"contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()": noContained,
	"contained.meta.security.empty()":                                         noContained,

	// ref-1: "A.not() or ..." is true once the reference is not local.
	"reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))": func(obj map[string]any) bool {
		ref, ok := obj["reference"].(string)
		return ok && !strings.HasPrefix(ref, "#") || absent(obj, "reference", false)
	},

	// ext-1: exactly one of sub-extensions and a value.
	"extension.exists() != value.exists()": func(obj map[string]any) bool {
		if hasExtensions(obj) {
			return absent(obj, "value", true)
		}
		return absent(obj, "extension", false) && hasValueX(obj)
	},

	// per-1: start.hasValue().not() or end.hasValue().not() is true when
	// either has no value at all.
	"start.hasValue().not() or end.hasValue().not() or (start <= end)": func(obj map[string]any) bool {
		_, start := obj["start"]
		_, end := obj["end"]
		return !start || !end
	},

	// cpt-2 and qty-3: "A.empty() or system.exists()".
	"value.empty() or system.exists()": func(obj map[string]any) bool { return hasString(obj, "system") || absent(obj, "value", true) },
	"code.empty() or system.exists()":  func(obj map[string]any) bool { return hasString(obj, "system") || absent(obj, "code", false) },

	// obs-6 and obs-7: "A.empty() or ..." with A absent; obs-7's right
	// side is true without components.
	"dataAbsentReason.empty() or value.empty()": func(obj map[string]any) bool { return absent(obj, "dataAbsentReason", false) },
	"value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()": func(obj map[string]any) bool {
		return absent(obj, "component", false) || absent(obj, "value", true)
	},
}

func noContained(obj map[string]any) bool { return absent(obj, "contained", false) }

// absent reports whether obj has no member that FHIRPath could read as
// the element name: no key name or "_name", and for a choice element no
// key starting with either ("nameType"; other keys sharing the prefix
// merely make the answer false, which decides nothing).
func absent(obj map[string]any, name string, choice bool) bool {
	if _, ok := obj[name]; ok {
		return false
	}
	if _, ok := obj["_"+name]; ok {
		return false
	}
	if !choice {
		return true
	}
	for k := range obj {
		if strings.HasPrefix(k, name) || len(k) > 1 && k[0] == '_' && strings.HasPrefix(k[1:], name) {
			return false
		}
	}
	return true
}

// hasExtensions reports whether obj's "extension" is a non-empty array of
// objects: extension.exists() is then certainly true.
func hasExtensions(obj map[string]any) bool {
	arr, _ := obj["extension"].([]any)
	for _, x := range arr {
		if _, ok := x.(map[string]any); !ok {
			return false
		}
	}
	return len(arr) > 0
}

// hasValueX reports whether obj holds an Extension value: a key of
// Extension.value[x] whose value is a primitive or a non-empty object, so
// that value.exists() is certainly true.
func hasValueX(obj map[string]any) bool {
	value := r4spec.R4().Members("Extension")["value"]
	if value == nil {
		return false
	}
	for k, v := range obj {
		suffix, ok := strings.CutPrefix(k, "value")
		if !ok || !slices.ContainsFunc(value.Types, func(t string) bool { return choiceSuffix(t) == suffix }) {
			continue
		}
		switch t := v.(type) {
		case string, bool, json.Number:
			return true
		case map[string]any:
			return len(t) > 0
		}
	}
	return false
}

// hasString reports whether obj[name] is a string: name.exists() is then
// true.
func hasString(obj map[string]any, name string) bool {
	_, ok := obj[name].(string)
	return ok
}
