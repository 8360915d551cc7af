package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/hl7/v2fhir"
	"github.com/hl7gw/gateway/validation"
)

// convertAbout is convert's help text.
const convertAbout = "Convert HL7 v2 messages to FHIR R4 (package hl7/v2fhir, the HL7 v2-to-FHIR IG's maps)\n" +
	"and print one transaction Bundle per message (PUT <Type>/<id> per resource), pretty\n" +
	"by default, one per line with -compact. A file may hold one message, several, or an\n" +
	"FHS/BHS batch. A message that cannot be converted (an unsupported type, a merge\n" +
	"without MRG, ...) is reported on stderr with its file, its index in the file and\n" +
	"the HL7 location; the others are still printed; exit 1. Values left out of a\n" +
	"converted message (a time that is not a DTM, ...) are warnings on stderr."

// convertCmd implements `gateway convert [-compact] [-sender S] [-zone TZ]
// FILE...`. It reads files only.
func convertCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", args, stdout, stderr, nil)
	compact := fs.Bool("compact", false, "print each Bundle on one line (NDJSON)")
	sender := fs.String("sender", "", "namespace of resource ids instead of MSH-4/MSH-3 (v2fhir.Options.Sender)")
	zone := fs.String("zone", "UTC", "time zone of HL7 times written without an offset (IANA name)")
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		return usageErr(err)
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: no files", errUsage)
	}
	loc, err := time.LoadLocation(*zone)
	if err != nil {
		return fmt.Errorf("%w: -zone: %v", errUsage, err)
	}
	opt := v2fhir.Options{Sender: *sender, Zone: loc}
	failed := false
	var pretty bytes.Buffer
	for _, path := range fs.Args() {
		raw, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "%s: cannot read file: %v\n", path, err)
			failed = true
			continue
		}
		batch, err := hl7.SplitBatch(raw)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			failed = true
			continue
		}
		for i, m := range batch.Messages {
			b, warnings, err := convertOne(m, opt)
			for _, w := range warnings {
				fmt.Fprintf(stderr, "%s: message %d: %s\n", path, i+1, w)
			}
			if err != nil {
				fmt.Fprintf(stderr, "%s: message %d: %v\n", path, i+1, err)
				failed = true
				continue
			}
			if !*compact {
				pretty.Reset()
				if err := json.Indent(&pretty, b, "", "  "); err != nil {
					return fmt.Errorf("%s: message %d: the Bundle is not JSON: %w", path, i+1, err)
				}
				b = pretty.Bytes()
			}
			if _, err := stdout.Write(append(b, '\n')); err != nil {
				return err
			}
		}
	}
	if failed {
		return errFailed
	}
	return nil
}

// convertOne parses and converts one message to its transaction Bundle,
// with the warnings about values it left out.
func convertOne(raw []byte, opt v2fhir.Options) ([]byte, validation.Findings, error) {
	msg, err := hl7.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("parse: %w", err)
	}
	res, err := v2fhir.Convert(msg, opt)
	if err != nil {
		return nil, nil, err
	}
	b, err := res.Bundle()
	return b, res.Warnings, err
}
