package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/hl7/conformance"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
)

// convRelay is the floor under the converting gateway (-convert): what a
// gateway converting HL7 v2 to FHIR in the stream still does if parsing,
// validating and converting cost nothing. At start it runs the gateway's
// own HL7 steps, with the converter, once over every payload of the run
// and keeps the records each became (the raw record and its FHIR
// resources, headers and all). Per message it finds them by the payload
// without its MSH-10 (the load generator rewrites only that) and publishes
// copies the way the converting gateway does: one Kafka transaction per
// message, the transactions of concurrent messages committed together
// (hl7door.TxGroups over the gateway's producer and its pool of
// transactional clients), then AA. The raw record carries the frame as it
// came.
type convRelay struct {
	prod   *publish.Producer
	pub    *hl7door.TxGroups
	routed map[string]convRecords
}

// convRecords are one payload's records and which of them is the raw one.
type convRecords struct {
	pipeline.Routed
	raw int
}

// maxTxGroup is cmd/gateway's bound on the messages of one transaction.
const maxTxGroup = 64

func newConvRelay(ctx context.Context, brokers []string, glob, convert string) (*convRelay, error) {
	msgs, types, err := runMessages(glob, convert)
	if err != nil {
		return nil, err
	}
	val, err := conformance.New(conformance.Options{})
	if err != nil {
		return nil, err
	}
	steps := hl7door.NewSteps(hl7door.StepsConfig{Connector: "hl7-mllp", Validator: val,
		Converter: hl7door.NewConverter(hl7door.ConvertConfig{Types: types}, "hl7-mllp", nil)})
	routed := make(map[string]convRecords, len(msgs))
	for _, m := range msgs {
		p, err := steps.Parse(ctx, hl7door.Request{}, m)
		if err != nil {
			return nil, err
		}
		r, err := steps.Route(ctx, hl7door.Request{}, p, steps.Validate(ctx, hl7door.Request{}, p))
		if err != nil {
			return nil, err
		}
		raw := -1
		for i, rec := range r.Records {
			if bytes.Equal(rec.Value, m) {
				raw = i
			}
		}
		_, msh10, ok := headerFields(m)
		if !ok || raw < 0 {
			return nil, fmt.Errorf("relay+conv: a payload without MSH-10 or raw record")
		}
		routed[withoutControlID(m, msh10)] = convRecords{Routed: r, raw: raw}
	}
	k := config.Default().Kafka
	k.Producer.TransactionalIDPrefix = "e2e-relay-conv" // apart from the gateways' on the same broker
	prod, err := publish.New(ctx, k, brokers, nil, nil)
	if err != nil {
		return nil, err
	}
	return &convRelay{prod: prod, pub: hl7door.NewTxGroups(prod, k.Producer.TransactionalProducers, maxTxGroup), routed: routed}, nil
}

// relay publishes one frame's records and returns its answer: AA once
// their transaction committed, AE when it failed, AR for a payload it
// does not know.
func (r *convRelay) relay(ctx context.Context, payload []byte) []byte {
	_, msh10, ok := headerFields(payload)
	if !ok {
		return relayAnswer("AR", msh10)
	}
	cr, known := r.routed[withoutControlID(payload, msh10)]
	if !known {
		return relayAnswer("AR", msh10)
	}
	recs := make([]*kgo.Record, len(cr.Records))
	for i, rec := range cr.Records {
		c := *rec // a fresh record: the client writes partition and offset into it
		recs[i] = &c
	}
	recs[cr.raw].Value = payload
	if _, err := r.pub.Publish(ctx, recs, cr.Atomic); err != nil {
		return relayAnswer("AE", msh10)
	}
	return relayAnswer("AA", msh10)
}

func (r *convRelay) close() { r.prod.Close() }

// withoutControlID returns m without the value of MSH-10, as a map key;
// msh10 is that value as headerFields found it in m.
func withoutControlID(m, msh10 []byte) string {
	// msh10 is m[at:at+len(msh10)], sliced without a capacity limit.
	at := cap(m) - cap(msh10)
	return string(m[:at]) + string(m[at+len(msh10):])
}
