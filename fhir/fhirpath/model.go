package fhirpath

import (
	"strings"
	"unicode"
)

// Model tells the engine the FHIR types of elements. The engine works
// without one (types then come from choice suffixes and resourceType only);
// the R4 definition tables can implement it to give full type information.
type Model interface {
	// ElementType returns the type of element name on parentType. choice is
	// true for a [x] element, whose type comes from the JSON key's suffix.
	ElementType(parentType, name string) (typ string, choice bool, ok bool)
	// BaseType returns the type typ derives from ("" at the root).
	BaseType(typ string) string
	// Complete reports whether the model lists every element of typ, so
	// that a name it does not list is an error in CompileFor.
	Complete(typ string) bool
}

// builtinModel is the small R4 table this package ships: the element types
// of the resources and data types that the official test inputs and the
// common core invariants touch. It is deliberately partial; an element it
// does not list still navigates, it just has no FHIR type name.
var builtinModel = parseModel(builtinTypes)

// DefaultModel returns the built-in partial R4 model.
func DefaultModel() Model { return builtinModel }

// builtinTypes lists "Type < Base: element type, ..." with [x] for choices;
// a type whose list ends in "..." is known to be incomplete.
const builtinTypes = `
Element < Base: id string, extension Extension
BackboneElement < Element: modifierExtension Extension
Resource < Base: id id, meta Meta, implicitRules uri, language code
DomainResource < Resource: text Narrative, contained Resource, extension Extension, modifierExtension Extension
Extension < Element: url uri, value[x] *
Narrative < Element: status code, div xhtml
Meta < Element: versionId id, lastUpdated instant, source uri, profile canonical, security Coding, tag Coding
Coding < Element: system uri, version string, code code, display string, userSelected boolean
CodeableConcept < Element: coding Coding, text string
Identifier < Element: use code, type CodeableConcept, system uri, value string, period Period, assigner Reference
HumanName < Element: use code, text string, family string, given string, prefix string, suffix string, period Period
ContactPoint < Element: system code, value string, use code, rank positiveInt, period Period
Address < Element: use code, type code, text string, line string, city string, district string, state string, postalCode string, country string, period Period
Period < Element: start dateTime, end dateTime
Reference < Element: reference string, type uri, identifier Identifier, display string
Quantity < Element: value decimal, comparator code, unit string, system uri, code code
Age < Quantity:
Duration < Quantity:
Count < Quantity:
Distance < Quantity:
SimpleQuantity < Quantity:
MoneyQuantity < Quantity:
Range < Element: low Quantity, high Quantity
Ratio < Element: numerator Quantity, denominator Quantity
Attachment < Element: contentType code, language code, data base64Binary, url url, size unsignedInt, hash base64Binary, title string, creation dateTime
ContactDetail < Element: name string, telecom ContactPoint
UsageContext < Element: code Coding, value[x] *
Annotation < Element: author[x] *, time dateTime, text markdown
Patient < DomainResource: identifier Identifier, active boolean, name HumanName, telecom ContactPoint, gender code, birthDate date, deceased[x] *, address Address, maritalStatus CodeableConcept, multipleBirth[x] *, photo Attachment, contact Patient.contact, communication Patient.communication, generalPractitioner Reference, managingOrganization Reference, link Patient.link
Patient.contact < BackboneElement: relationship CodeableConcept, name HumanName, telecom ContactPoint, address Address, gender code, organization Reference, period Period
Patient.communication < BackboneElement: language CodeableConcept, preferred boolean
Patient.link < BackboneElement: other Reference, type code
Observation < DomainResource: identifier Identifier, basedOn Reference, partOf Reference, status code, category CodeableConcept, code CodeableConcept, subject Reference, focus Reference, encounter Reference, effective[x] *, issued instant, performer Reference, value[x] *, dataAbsentReason CodeableConcept, interpretation CodeableConcept, note Annotation, bodySite CodeableConcept, method CodeableConcept, specimen Reference, device Reference, referenceRange Observation.referenceRange, hasMember Reference, derivedFrom Reference, component Observation.component
Observation.referenceRange < BackboneElement: low Quantity, high Quantity, type CodeableConcept, appliesTo CodeableConcept, age Range, text string
Observation.component < BackboneElement: code CodeableConcept, value[x] *, dataAbsentReason CodeableConcept, interpretation CodeableConcept, referenceRange Observation.referenceRange
Questionnaire < DomainResource: url uri, identifier Identifier, version string, name string, title string, derivedFrom canonical, status code, experimental boolean, subjectType code, date dateTime, publisher string, contact ContactDetail, description markdown, useContext UsageContext, jurisdiction CodeableConcept, purpose markdown, copyright markdown, approvalDate date, lastReviewDate date, effectivePeriod Period, code Coding, item Questionnaire.item
Questionnaire.item < BackboneElement: linkId string, definition uri, code Coding, prefix string, text string, type code, enableWhen Questionnaire.item.enableWhen, enableBehavior code, required boolean, repeats boolean, readOnly boolean, maxLength integer, answerValueSet canonical, answerOption Questionnaire.item.answerOption, initial Questionnaire.item.initial, item Questionnaire.item
Questionnaire.item.enableWhen < BackboneElement: question string, operator code, answer[x] *
Questionnaire.item.answerOption < BackboneElement: value[x] *, initialSelected boolean
Questionnaire.item.initial < BackboneElement: value[x] *
ValueSet < DomainResource: url uri, identifier Identifier, version string, name string, title string, status code, experimental boolean, date dateTime, publisher string, contact ContactDetail, description markdown, useContext UsageContext, jurisdiction CodeableConcept, immutable boolean, purpose markdown, copyright markdown, compose ValueSet.compose, expansion ValueSet.expansion
ValueSet.compose < BackboneElement: lockedDate date, inactive boolean, include ValueSet.compose.include, exclude ValueSet.compose.include
ValueSet.compose.include < BackboneElement: system uri, version string, concept ValueSet.compose.include.concept, filter ValueSet.compose.include.filter, valueSet canonical
ValueSet.compose.include.concept < BackboneElement: code code, display string, ...
ValueSet.compose.include.filter < BackboneElement: property code, op code, value string
ValueSet.expansion < BackboneElement: identifier uri, timestamp dateTime, total integer, offset integer, parameter ValueSet.expansion.parameter, contains ValueSet.expansion.contains
ValueSet.expansion.parameter < BackboneElement: name string, value[x] *
ValueSet.expansion.contains < BackboneElement: system uri, abstract boolean, inactive boolean, version string, code code, display string, contains ValueSet.expansion.contains, ...
CodeSystem < DomainResource: url uri, identifier Identifier, version string, name string, title string, status code, experimental boolean, date dateTime, publisher string, contact ContactDetail, description markdown, useContext UsageContext, jurisdiction CodeableConcept, purpose markdown, copyright markdown, caseSensitive boolean, valueSet canonical, hierarchyMeaning code, compositional boolean, versionNeeded boolean, content code, supplements canonical, count unsignedInt, filter CodeSystem.filter, property CodeSystem.property, concept CodeSystem.concept
CodeSystem.filter < BackboneElement: code code, description string, operator code, value string
CodeSystem.property < BackboneElement: code code, uri uri, description string, type code
CodeSystem.concept < BackboneElement: code code, display string, definition string, designation CodeSystem.concept.designation, property CodeSystem.concept.property, concept CodeSystem.concept
CodeSystem.concept.designation < BackboneElement: language code, use Coding, value string
CodeSystem.concept.property < BackboneElement: code code, value[x] *
Parameters < Resource: parameter Parameters.parameter
Parameters.parameter < BackboneElement: name string, value[x] *, resource Resource, part Parameters.parameter
Bundle < Resource: identifier Identifier, type code, timestamp instant, total unsignedInt, link Bundle.link, entry Bundle.entry, signature Signature
Bundle.link < BackboneElement: relation string, url uri
Bundle.entry < BackboneElement: link Bundle.link, fullUrl uri, resource Resource, search Bundle.entry.search, request Bundle.entry.request, response Bundle.entry.response
Bundle.entry.search < BackboneElement: mode code, score decimal
Bundle.entry.request < BackboneElement: method code, url uri, ifNoneMatch string, ifModifiedSince instant, ifMatch string, ifNoneExist string
Bundle.entry.response < BackboneElement: status string, location uri, etag string, lastModified instant, outcome Resource
Appointment < DomainResource: identifier Identifier, status code, serviceType CodeableConcept, start instant, end instant, created dateTime, comment string, participant Appointment.participant, ...
Appointment.participant < BackboneElement: type CodeableConcept, actor Reference, required code, status code, period Period, ...
`

// primitiveBase gives the specialisations among FHIR primitive types.
var primitiveBase = map[string]string{
	"code": "string", "id": "string", "markdown": "string",
	"url": "uri", "canonical": "uri", "oid": "uri", "uuid": "uri",
	"unsignedInt": "integer", "positiveInt": "integer",
}

type tableModel struct {
	elems   map[elemKey]modelElem
	base    map[string]string
	partial map[string]bool
}

type elemKey struct{ typ, name string }

type modelElem struct {
	typ    string
	choice bool
}

func parseModel(src string) *tableModel {
	m := &tableModel{elems: map[elemKey]modelElem{}, base: map[string]string{}, partial: map[string]bool{}}
	for _, line := range strings.Split(strings.TrimSpace(src), "\n") {
		head, elems, _ := strings.Cut(line, ":")
		typ, base, _ := strings.Cut(head, "<")
		typ = strings.TrimSpace(typ)
		m.base[typ] = strings.TrimSpace(base)
		for _, e := range strings.Split(elems, ",") {
			if strings.TrimSpace(e) == "..." {
				m.partial[typ] = true
			}
			f := strings.Fields(e)
			if len(f) != 2 {
				continue
			}
			name, choice := strings.CutSuffix(f[0], "[x]")
			m.elems[elemKey{typ, name}] = modelElem{typ: f[1], choice: choice}
		}
	}
	for k, v := range primitiveBase {
		m.base[k] = v
	}
	return m
}

// ElementType implements Model, searching the type and its bases.
func (m *tableModel) ElementType(parent, name string) (string, bool, bool) {
	for t := parent; t != ""; t = m.BaseType(t) {
		if e, ok := m.elems[elemKey{t, name}]; ok {
			return e.typ, e.choice, true
		}
	}
	return "", false, false
}

// Complete implements Model: the listed types (and the primitives) are
// complete, unless marked with "...", as are all their bases.
func (m *tableModel) Complete(t string) bool {
	for ; t != ""; t = m.BaseType(t) {
		if _, listed := m.base[t]; (!listed && !isPrimitiveType(t) && t != "Base") || m.partial[t] {
			return false
		}
	}
	return true
}

// BaseType implements Model. Backbone elements (Patient.contact) derive
// from BackboneElement; resources from DomainResource unless listed.
func (m *tableModel) BaseType(t string) string {
	if b, ok := m.base[t]; ok {
		return b
	}
	switch {
	case t == "Base" || t == "":
		return ""
	case strings.Contains(t, "."):
		return "BackboneElement"
	case isPrimitiveType(t):
		return "Element"
	case unicode.IsUpper(rune(t[0])):
		return "DomainResource"
	}
	return ""
}

// isPrimitiveType reports whether a FHIR type name is a primitive (they are
// the lower-case ones).
func isPrimitiveType(t string) bool { return t != "" && t[0] >= 'a' && t[0] <= 'z' }

// choiceSuffixType turns the suffix of a choice key (valueQuantity ->
// Quantity, valueDateTime -> dateTime) into the FHIR type name.
func choiceSuffixType(suffix string) string {
	if primitiveSuffix[suffix] {
		return strings.ToLower(suffix[:1]) + suffix[1:]
	}
	return suffix
}

var primitiveSuffix = map[string]bool{
	"Base64Binary": true, "Boolean": true, "Canonical": true, "Code": true, "Date": true,
	"DateTime": true, "Decimal": true, "Id": true, "Instant": true, "Integer": true,
	"Markdown": true, "Oid": true, "PositiveInt": true, "String": true, "Time": true,
	"UnsignedInt": true, "Uri": true, "Url": true, "Uuid": true,
}

// r4TypeNames lists every R4 resource and data type name, so that is, as
// and ofType can tell an unknown type (an error) from a known type the
// value is not.
var r4TypeNames = map[string]bool{}

func init() {
	for _, t := range strings.Fields(r4Types) {
		r4TypeNames[t] = true
	}
}

const r4Types = `
Base Element BackboneElement Resource DomainResource Extension Narrative xhtml
boolean integer string decimal uri url canonical base64Binary instant date dateTime time code oid id
markdown unsignedInt positiveInt uuid
Address Age Annotation Attachment CodeableConcept Coding ContactDetail ContactPoint Contributor Count
DataRequirement Distance Dosage Duration ElementDefinition Expression HumanName Identifier MarketingStatus
Meta Money MoneyQuantity ParameterDefinition Period Population ProdCharacteristic ProductShelfLife
Quantity Range Ratio Reference RelatedArtifact SampledData Signature SimpleQuantity SubstanceAmount
Timing TriggerDefinition UsageContext
Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse AuditEvent
Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement CarePlan CareTeam
CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse ClinicalImpression CodeSystem
Communication CommunicationRequest CompartmentDefinition Composition ConceptMap Condition Consent
Contract Coverage CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device
DeviceDefinition DeviceMetric DeviceRequest DeviceUseStatement DiagnosticReport DocumentManifest
DocumentReference EffectEvidenceSynthesis Encounter Endpoint EnrollmentRequest EnrollmentResponse
EpisodeOfCare EventDefinition Evidence EvidenceVariable ExampleScenario ExplanationOfBenefit
FamilyMemberHistory Flag Goal GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy
Immunization ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan
Invoice Library Linkage List Location Measure MeasureReport Media Medication MedicationAdministration
MedicationDispense MedicationKnowledge MedicationRequest MedicationStatement MedicinalProduct
MedicinalProductAuthorization MedicinalProductContraindication MedicinalProductIndication
MedicinalProductIngredient MedicinalProductInteraction MedicinalProductManufactured
MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect
MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder Observation
ObservationDefinition OperationDefinition OperationOutcome Organization OrganizationAffiliation
Parameters Patient PaymentNotice PaymentReconciliation Person PlanDefinition Practitioner
PractitionerRole Procedure Provenance Questionnaire QuestionnaireResponse RelatedPerson RequestGroup
ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment
RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen SpecimenDefinition
StructureDefinition StructureMap Subscription Substance SubstanceNucleicAcid SubstancePolymer
SubstanceProtein SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification
SupplyDelivery SupplyRequest Task TerminologyCapabilities TestReport TestScript ValueSet
VerificationResult VisionPrescription
`

// systemTypeNames are the types of the System namespace.
var systemTypeNames = map[string]bool{
	"Any": true, "Boolean": true, "String": true, "Integer": true, "Long": true, "Decimal": true,
	"Date": true, "DateTime": true, "Time": true, "Quantity": true,
}

// knownType reports whether a type specifier names a type this engine
// knows in its namespace.
func knownType(t typeSpec) bool {
	switch t.ns {
	case "System":
		return systemTypeNames[t.name]
	case "FHIR":
		return r4TypeNames[t.name]
	}
	return systemTypeNames[t.name] || r4TypeNames[t.name]
}

// knownAnywhere reports whether the name is a type in either namespace;
// System.Patient is then simply not the type of any value, while an
// unknown name such as string1 is an error.
func knownAnywhere(t typeSpec) bool { return systemTypeNames[t.name] || r4TypeNames[t.name] }
