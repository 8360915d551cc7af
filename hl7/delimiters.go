package hl7

// Delimiters are the separators a message declares in MSH-1 and MSH-2.
// Truncation is 0 when MSH-2 holds only four characters (it is '#' in
// v2.7+ messages that declare it).
type Delimiters struct{ Field, Component, Repetition, Escape, Subcomponent, Truncation byte }

// DefaultDelimiters are the separators of "MSH|^~\&".
var DefaultDelimiters = Delimiters{'|', '^', '~', '\\', '&', 0}

// encodingChars renders MSH-2 for d: four characters, five when d has a
// truncation character.
func (d Delimiters) encodingChars() string {
	b := []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent}
	if d.Truncation != 0 {
		b = append(b, d.Truncation)
	}
	return string(b)
}

// validDelimiter reports whether c may serve as a separator: printable
// ASCII punctuation or symbol (not a letter, digit, space or control byte).
func validDelimiter(c byte) bool {
	switch {
	case c <= ' ' || c >= 0x7f:
		return false
	case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return false
	}
	return true
}

// parseDelimiters reads MSH-1 (sep) and MSH-2 (enc). The five characters
// must be valid separators and pairwise distinct. It returns the location
// ("MSH-1" or "MSH-2") and a reason on failure.
func parseDelimiters(sep byte, enc []byte) (Delimiters, string, string) {
	if !validDelimiter(sep) {
		return Delimiters{}, "MSH-1", "field separator is not a printable non-alphanumeric ASCII character"
	}
	if len(enc) != 4 && len(enc) != 5 {
		return Delimiters{}, "MSH-2", "encoding characters must be 4 or 5 characters"
	}
	var seen [256]bool
	seen[sep] = true
	for _, c := range enc {
		if !validDelimiter(c) {
			return Delimiters{}, "MSH-2", "encoding character is not a printable non-alphanumeric ASCII character"
		}
		if seen[c] {
			return Delimiters{}, "MSH-2", "encoding characters are not distinct"
		}
		seen[c] = true
	}
	d := Delimiters{Field: sep, Component: enc[0], Repetition: enc[1], Escape: enc[2], Subcomponent: enc[3]}
	if len(enc) == 5 {
		d.Truncation = enc[4]
	}
	return d, "", ""
}
