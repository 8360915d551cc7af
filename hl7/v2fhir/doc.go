// Package v2fhir converts parsed HL7 v2 messages to FHIR R4 resources,
// following the HL7 Version 2 to FHIR Implementation Guide's message,
// segment, datatype and vocabulary maps (see README "HL7 v2 to FHIR" and
// ig/README.md for the concept maps used).
//
// It is pure: no I/O, no logging, no clock unless Options.Now is nil. The
// resources are written with an append-based JSON writer, in the IG's
// element order, never with empty objects, arrays or strings.
//
// Identity: every resource id is the first 128 bits, in hex, of a SHA-256
// over the resource type, the sender (Options.Sender, else MSH-4, else
// MSH-3) and the resource's business identifiers (PID-3 value and
// assigning authority for a Patient, PV1-19 for an Encounter, placer or
// filler numbers for orders and results, ...). Repeated messages about one
// patient or visit therefore name the same resource, ids carry no patient
// data, and references between the resources of one message use them.
//
// Memory: Convert is safe for concurrent use and allocates a few objects
// per message. Its scratch (JSON buffers, entries, segment index, group
// slices, an arena of built strings) comes from a sync.Pool. The strings
// it reads and builds while converting (components, systems, dates, keys)
// are views of the message's bytes or of that arena: they are written
// into the JSON, hashed or looked up, and never reach a Result, which
// owns one buffer holding its entries' JSON and one block of ids and
// record keys (TestResultsSurviveLaterConversions).
//
// What each message does to each resource (created, updated) is the table
// in ops.go; TestOperationTable states it.
package v2fhir
