package hl7door

// WorseCode exposes worseCode to the external tests, which check that an
// Answer's Code is the worst of its ACKs' by the door's own order.
var WorseCode = worseCode
