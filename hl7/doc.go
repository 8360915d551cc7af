// Package hl7 reads and answers HL7 v2 messages: a lenient, zero-copy parser
// (Parse), path access (Message.Get), escape handling (Unescape, Escape),
// FHS/BHS batch splitting (SplitBatch) and the acknowledgement builder
// (BuildACK, ParseACK).
//
// Nothing here blocks or does I/O. A *Message is immutable after Parse and is
// safe for concurrent readers; it aliases the caller's buffer, so the caller
// must not modify that buffer while the Message (or any slice obtained from
// it) is in use. Every value handed out as []byte is a sub-slice of the input;
// strings are copies. Parsing is lenient: fields are located lazily by
// scanning, and only a missing or broken MSH makes Parse fail. No function in
// this package panics on any input.
//
// Errors are *validation.Error values carrying a table 0357 code and a
// location in the path syntax described at Message.Get; their messages never
// contain message content.
package hl7
