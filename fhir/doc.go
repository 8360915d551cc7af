// Package fhir is the FHIR R4 request format beneath the doors: the request
// actions (Action), FHIR's id rule (ValidID), Bundle reading (SplitBatch for
// batches, ParseTransaction for transactions, with urn:uuid patient
// references resolved between entries), the conditional and versioned
// request elements the gateway cannot honour (TransactionConditions), and
// the stored form of a resource (StoredForm: id, meta.versionId and
// meta.lastUpdated set as a FHIR server would, references rewritten).
//
// Nothing here blocks or does I/O. Failures are *validation.Error values
// with FHIRPath locations; their messages never contain resource content.
// The scanner and the R4 rules live in package fhirval beneath this one;
// the door that runs requests through the pipeline is ingest/fhirdoor.
package fhir
