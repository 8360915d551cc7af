package v2fhir

import (
	"testing"

	"github.com/hl7gw/gateway/hl7"
)

// BenchmarkConvert converts each golden message (one per supported type
// and event) from its parsed form: the conversion's own cost per message,
// parsing excluded (BenchmarkParseAndConvert includes it).
func BenchmarkConvert(b *testing.B) {
	for _, tc := range goldenCases {
		raw := mustRead(b, corpusFile(tc.file))
		msg, err := hl7.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.event+"/"+tc.file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := Convert(msg, testOptions); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseAndConvert is parse, convert and the transaction Bundle:
// what `gateway convert -compact` does per message.
func BenchmarkParseAndConvert(b *testing.B) {
	for _, tc := range goldenCases {
		raw := mustRead(b, corpusFile(tc.file))
		b.Run(tc.event+"/"+tc.file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				msg, err := hl7.Parse(raw)
				if err != nil {
					b.Fatal(err)
				}
				res, err := Convert(msg, testOptions)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := res.Bundle(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
