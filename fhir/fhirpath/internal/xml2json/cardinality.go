package main

// alwaysRepeating are element names that are 0..* wherever they occur in
// R4.
var alwaysRepeating = map[string]bool{
	"extension": true, "modifierExtension": true, "coding": true, "contained": true,
	"given": true, "line": true,
}

// extraRepeating lists the repeating elements of the suite's XML inputs
// that the official JSON examples used for learning do not show, taken
// from the R4 resource definitions (cardinality 0..*).
var extraRepeating = []string{
	"ValueSet.identifier", "ValueSet.contact", "ValueSet.contact.telecom",
	"ValueSet.useContext", "ValueSet.jurisdiction",
	"ValueSet.compose.include", "ValueSet.compose.exclude",
	"ValueSet.compose.include.concept", "ValueSet.compose.include.filter",
	"ValueSet.compose.include.valueSet",
	"ValueSet.expansion.parameter", "ValueSet.expansion.contains",
	"ValueSet.expansion.contains.contains", "ValueSet.meta.profile",
	"Parameters.parameter", "Parameters.parameter.part",
	"Patient.identifier", "Patient.name", "Patient.telecom", "Patient.address",
	"Patient.contact", "Patient.contact.telecom", "Patient.contact.relationship",
}

// extraKinds gives the JSON kind of non-string primitives that the learned
// examples do not show.
var extraKinds = map[string]string{
	"ValueSet.experimental": "boolean", "ValueSet.immutable": "boolean",
	"ValueSet.expansion.total": "number", "ValueSet.expansion.offset": "number",
	"ValueSet.expansion.contains.abstract": "boolean", "ValueSet.expansion.contains.inactive": "boolean",
	"ValueSet.expansion.contains.contains.abstract": "boolean",
	"ValueSet.compose.inactive":                     "boolean",
}
