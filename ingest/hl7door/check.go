package hl7door

import (
	"context"
	"strconv"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/validation"
)

// Check runs, without submitting anything, what the door's pipeline runs
// on raw before routing: raw is divided as the door divides it
// (hl7.Units), and each message is parsed and validated by the door's
// steps (Steps.Parse, then Steps.Validate with v: the conformance rules
// and the charset). A message that does not parse has the parser's
// findings (validation.FindingsOf, as the pipeline records them). The findings of a batch's messages are located
// "message N: ...". `gateway validate --format hl7` prints its verdict from
// them. It does not block.
func Check(v Validator, raw []byte) validation.Findings {
	steps := NewSteps(StepsConfig{Validator: v})
	one := func(msg []byte) validation.Findings {
		p, err := steps.Parse(context.Background(), Request{}, msg)
		if err != nil {
			return validation.FindingsOf(err)
		}
		return steps.Validate(context.Background(), Request{}, p)
	}
	units, b, _ := hl7.Units(raw)
	if len(b.Messages) == 0 {
		return one(units[0])
	}
	var all validation.Findings
	for i, msg := range units {
		for _, f := range one(msg) {
			f.Location = "message " + strconv.Itoa(i+1) + ": " + f.Location
			all = append(all, f)
		}
	}
	return all
}
