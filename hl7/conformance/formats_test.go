package conformance

import "testing"

func TestFormats(t *testing.T) {
	tests := []struct {
		name  string
		check func([]byte) bool
		in    string
		ok    bool
	}{
		{"a year is a DT", validDT, "2024", true},
		{"a year and month is a DT", validDT, "202402", true},
		{"a full date is a DT", validDT, "20240229", true},
		{"month 13 is not a DT", validDT, "20241301", false},
		{"day 00 is not a DT", validDT, "20240100", false},
		{"a date with time is not a DT", validDT, "202401011200", false},
		{"dashes are not a DT", validDT, "2024-01-01", false},
		{"a DTM may stop at the day", validDTM, "20240101", true},
		{"a DTM may stop at the minute", validDTM, "202401011230", true},
		{"a DTM may carry fractions and a zone", validDTM, "20240101123059.1234-0500", true},
		{"a DTM with five fraction digits is refused", validDTM, "20240101123059.12345", false},
		{"a fraction without seconds is refused", validDTM, "202401011230.1", false},
		{"hour 24 is refused", validDTM, "2024010124", false},
		{"sixteen digits are not a DTM", validDTM, "1994050216163360", false},
		{"a zone of three digits is refused", validDTM, "20240101+050", false},
		{"an hour is a TM", validTM, "23", true},
		{"a TM may carry fractions and a zone", validTM, "235959.5+0100", true},
		{"colons are not a TM", validTM, "11:30:05", false},
		{"minute 60 is not a TM", validTM, "1260", false},
		{"an integer is an NM", validNM, "42", true},
		{"a signed decimal is an NM", validNM, "-0.5", true},
		{"a leading point is an NM", validNM, ".5", true},
		{"padding spaces are tolerated in NM", validNM, " 7 ", true},
		{"units are not an NM", validNM, "5 mg", false},
		{"a comparator is not an NM", validNM, ">60", false},
		{"a lone sign is not an NM", validNM, "-", false},
		{"two points are not an NM", validNM, "1.2.3", false},
		{"zero is an SI", validSI, "0", true},
		{"a negative number is not an SI", validSI, "-1", false},
		{"an empty value is not an SI", validSI, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.check([]byte(tt.in)); got != tt.ok {
				t.Errorf("%q: got %v, want %v", tt.in, got, tt.ok)
			}
		})
	}
}
