package hl7

import (
	"bytes"
	"strconv"

	"github.com/hl7gw/gateway/validation"
)

// IsBatch reports whether raw is an HL7 batch: its first non-empty line
// starts with FHS or BHS.
func IsBatch(raw []byte) bool {
	raw = bytes.TrimLeft(raw, "\r\n")
	return len(raw) >= 3 && (string(raw[:3]) == "FHS" || string(raw[:3]) == "BHS")
}

// Batch is an HL7 batch split into its messages. Header and trailer fields
// are the raw segments without their terminator, nil when absent; with
// several batches in one file, BHS is the first batch header and BTS the
// last trailer. Messages are sub-slices of the input, each from its MSH up
// to the next message or trailer, segment terminators included, byte for
// byte.
type Batch struct {
	FHS, BHS []byte
	Messages [][]byte
	BTS, FTS []byte
	// Batches is the number of BHS segments.
	Batches int
	// Findings are warnings about the envelope that do not stop the
	// messages: BTS-1 / FTS-1 counts that disagree with what the batch
	// holds (code 100 at "BTS-1" or "FTS-1"). Strict callers may treat
	// them as errors.
	Findings validation.Findings
}

// line is the position of one non-empty line, terminator excluded.
type line struct{ start, end int }

// SplitBatch splits an FHS/BHS batch into messages; each message starts at
// an MSH segment. A buffer that starts with MSH is split the same way (a
// batch without envelope). It fails with a *validation.Error (code 100,
// segment sequence) when an FHS is not the first segment, a BHS opens
// inside an open batch, a non-envelope segment appears outside a message,
// anything but empty lines follows FTS, or the input holds no segment at
// all. Counts in BTS-1 and FTS-1 are checked into Batch.Findings
// (messages directly under an FHS count as one implicit batch).
// SplitBatch never panics and does not copy the input.
func SplitBatch(raw []byte) (Batch, error) {
	var (
		b         Batch
		msgStart  = -1 // start of the open message
		batchOpen bool
		inBatch   int // messages in the open batch
		closed    bool
		n         int // segment number, 1-based, for error messages
	)
	endMsg := func(at int) {
		if msgStart >= 0 {
			b.Messages = append(b.Messages, raw[msgStart:at:at])
			msgStart = -1
			inBatch++
		}
	}
	seqErr := func(loc, format string) (Batch, error) {
		return Batch{}, validation.Errorf(validation.CodeSegmentSequence, loc, format, n)
	}
	for l := range lines(raw) {
		n++
		seg := raw[l.start:l.end]
		name := envelopeName(seg)
		if closed {
			return seqErr("FTS", "segment %d follows FTS")
		}
		switch name {
		case "FHS":
			if n != 1 {
				return seqErr("FHS", "FHS at segment %d is not the first segment")
			}
			b.FHS = seg
		case "BHS":
			if batchOpen {
				return seqErr("BHS", "BHS at segment %d opens a batch inside an open batch")
			}
			endMsg(l.start)
			b.Batches++
			if b.BHS == nil {
				b.BHS = seg
			}
			batchOpen, inBatch = true, 0
		case "MSH":
			endMsg(l.start)
			msgStart = l.start
		case "BTS":
			endMsg(l.start)
			b.BTS = seg
			checkCount(&b, seg, "BTS-1", "messages", inBatch)
			batchOpen = false
		case "FTS":
			endMsg(l.start)
			batchOpen = false // a missing BTS is tolerated
			b.FTS = seg
			batches := b.Batches
			if batches == 0 && len(b.Messages) > 0 {
				batches = 1 // messages directly under FHS form one implicit batch
			}
			checkCount(&b, seg, "FTS-1", "batches", batches)
			closed = true
		default:
			if msgStart < 0 {
				return seqErr("MSH", "segment %d is outside any message")
			}
		}
	}
	if n == 0 {
		return Batch{}, validation.Errorf(validation.CodeSegmentSequence, "MSH", "batch is empty")
	}
	endMsg(len(raw))
	return b, nil
}

// envelopeName returns the segment id when seg is an MSH or a batch
// envelope segment (the id followed by a non-alphanumeric byte or nothing).
func envelopeName(seg []byte) string {
	if len(seg) < 3 || len(seg) > 3 && isAlnum(seg[3]) {
		return ""
	}
	switch string(seg[:3]) {
	case "MSH":
		return "MSH"
	case "FHS":
		return "FHS"
	case "BHS":
		return "BHS"
	case "BTS":
		return "BTS"
	case "FTS":
		return "FTS"
	}
	return ""
}

// checkCount compares field 1 of a BTS/FTS trailer with want and records a
// warning when it is present and differs.
func checkCount(b *Batch, seg []byte, loc, what string, want int) {
	if len(seg) < 4 {
		return
	}
	f := nthPart(seg[4:], seg[3], 0)
	if len(f) == 0 {
		return
	}
	got, err := strconv.Atoi(string(f))
	if err != nil || got != want {
		b.Findings = append(b.Findings, validation.Finding{
			Severity: validation.SeverityWarning,
			Code:     validation.CodeSegmentSequence,
			Location: loc,
			Message:  "count does not match the " + strconv.Itoa(want) + " " + what + " found",
		})
	}
}

// lines yields the non-empty lines of raw, split on '\r' or '\n'.
func lines(raw []byte) func(func(line) bool) {
	return func(yield func(line) bool) {
		pos := 0
		for pos < len(raw) {
			i := indexCRLF(raw[pos:])
			end := len(raw)
			if i >= 0 {
				end = pos + i
			}
			if end > pos && !yield(line{pos, end}) {
				return
			}
			pos = end + 1
		}
	}
}
