package hl7

// Units splits what a sender sent into the messages a receiver handles one
// by one, as the HL7 door does: a single message is one unit (raw); an
// FHS/BHS batch is its messages (isBatch true, b the split batch); a batch
// whose envelope cannot be split, or that holds no message, is one unit,
// the whole of raw (isBatch true, b zero), so that it fails to parse like
// any unparseable message instead of being answered as an empty batch.
// Units never copies raw.
func Units(raw []byte) (units [][]byte, b Batch, isBatch bool) {
	if !IsBatch(raw) {
		return [][]byte{raw}, Batch{}, false
	}
	b, err := SplitBatch(raw)
	if err != nil || len(b.Messages) == 0 {
		return [][]byte{raw}, Batch{}, true
	}
	return b.Messages, b, true
}
