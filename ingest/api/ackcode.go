package api

import "bytes"

// ackCode returns MSA-1 of an HL7 acknowledgement: AA, AE, AR (original
// mode) or CA, CE, CR (enhanced mode); "" when ack has no MSA segment with
// one of those codes (nil ack: MSH-15 asked for none). For a batch of ACKs
// (FHS/BHS) it is the worst code of its messages: reject over error over
// accept. Segments may end in CR, LF or CRLF. It never fails.
func ackCode(ack []byte) string {
	if len(ack) < 4 {
		return ""
	}
	switch string(ack[:3]) {
	case "MSH", "FHS", "BHS":
	default:
		return ""
	}
	sep := ack[3]
	worst, rank := "", 0
	for len(ack) > 0 {
		i := bytes.IndexAny(ack, "\r\n")
		seg := ack
		if i >= 0 {
			seg, ack = ack[:i], ack[i+1:]
		} else {
			ack = nil
		}
		if len(seg) < 4 || string(seg[:3]) != "MSA" || seg[3] != sep {
			continue
		}
		field := seg[4:]
		if j := bytes.IndexByte(field, sep); j >= 0 {
			field = field[:j]
		}
		if r := ackRank(string(field)); r > rank {
			worst, rank = string(field), r
		}
	}
	return worst
}

func ackRank(code string) int {
	switch code {
	case "AA", "CA":
		return 1
	case "AE", "CE":
		return 2
	case "AR", "CR":
		return 3
	}
	return 0
}
