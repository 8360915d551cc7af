package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/router"
)

// The relay is the floor under the gateway's row: an MLLP listener that
// does nothing a door must not skip. It is the gateway's own MLLP server
// (one goroutine per connection, buffered reads, one write per answer) and
// the gateway's producer settings, and per message it only finds MSH-9 and
// MSH-10, produces the frame as it came to the topic the gateway would
// name, and answers AA once the broker has the record. No parsing,
// validation, headers, metrics or logging. What separates the plain
// producer from the relay is the MLLP hop (the sender's round trip and the
// listener's syscalls); what separates the relay from the gateway is the
// gateway's own work. The relay runs in a process of its own (this binary
// with -relay-child), measured like the gateway.

// startRelay starts a relay child on a free port, producing to broker,
// and returns it as one more process to measure. With conv it is the
// converting relay (see convRelay).
func startRelay(broker, glob, convert string, conv bool) (*gatewayProc, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + ports[0]
	name := "relay"
	if conv {
		name = "relay+conv"
	}
	bp, err := startChild(name, "-relay-child", "-brokers", broker, "-relay-addr", addr,
		"-messages", glob, "-convert", convert, "-relay-conv="+strconv.FormatBool(conv))
	if err != nil {
		return nil, err
	}
	return &gatewayProc{name: name, cmd: bp.cmd, mllpAddr: addr, child: bp}, nil
}

// relayChild is the relay process's main: it serves MLLP on addr until
// its stdin closes or an interrupt.
func relayChild(brokers, addr, glob, convert string, conv bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var handle func(ctx context.Context, payload []byte) []byte
	if conv {
		cr, err := newConvRelay(ctx, strings.Split(brokers, ","), glob, convert)
		if err != nil {
			return err
		}
		defer cr.close()
		handle = cr.relay
	} else {
		topics, err := relayTopics(glob, convert)
		if err != nil {
			return err
		}
		opts, err := publish.Options(config.Default().Kafka, strings.Split(brokers, ","))
		if err != nil {
			return err
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return err
		}
		defer cl.Close()
		handle = func(ctx context.Context, payload []byte) []byte { return relayOne(ctx, cl, topics, payload) }
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := mllp.NewServer("relay", mllp.ServerConfig{}, mllp.HandlerFunc(func(ctx context.Context, _ mllp.ConnInfo, payload []byte) []byte {
		return handle(ctx, payload)
	}), nil)
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(context.Background()) }()
	readyUntilStdinCloses(ctx, stop)
	return nil
}

// relayTopics maps the MSH-9 bytes of every payload the run sends to the
// topic the gateway routes it to.
func relayTopics(glob, convert string) (map[string]string, error) {
	msgs, _, err := runMessages(glob, convert)
	if err != nil {
		return nil, err
	}
	topics := make(map[string]string)
	for _, m := range msgs {
		pm, err := hl7.Parse(m)
		if err != nil {
			return nil, err
		}
		t, err := router.HL7Topic("", hl7door.Meta(pm, ""))
		if err != nil {
			return nil, err
		}
		msh9, _, ok := headerFields(m)
		if !ok {
			return nil, fmt.Errorf("relay: a payload without MSH-10")
		}
		topics[string(msh9)] = t
	}
	return topics, nil
}

// relayOne produces one frame and returns its answer: AA after the broker
// has the record, AE when it failed, AR for a message it cannot route.
func relayOne(ctx context.Context, cl *kgo.Client, topics map[string]string, payload []byte) []byte {
	msh9, msh10, ok := headerFields(payload)
	topic, known := topics[string(msh9)]
	if !ok || !known {
		return relayAnswer("AR", msh10)
	}
	r := &kgo.Record{Topic: topic, Key: msh10, Value: payload}
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		return relayAnswer("AE", msh10)
	}
	return relayAnswer("AA", msh10)
}

// headerFields returns MSH-9 and MSH-10 of a message's first segment.
func headerFields(m []byte) (msh9, msh10 []byte, ok bool) {
	if len(m) < 8 || !bytes.HasPrefix(m, []byte("MSH")) {
		return nil, nil, false
	}
	fs := m[3]
	field, start := 1, 3 // m[start] is the separator before MSH-(field+1)
	for i := 4; i < len(m) && m[i] != '\r'; i++ {
		if m[i] != fs {
			continue
		}
		field++
		switch field {
		case 9:
			msh9 = m[start+1 : i]
		case 10:
			return msh9, m[start+1 : i], true
		}
		start = i
	}
	if field == 9 { // MSH-10 ends the segment
		end := start + 1
		for end < len(m) && m[end] != '\r' {
			end++
		}
		return msh9, m[start+1 : end], true
	}
	return nil, nil, false
}

// relayAnswer is a minimal original-mode ACK.
func relayAnswer(code string, ctrl []byte) []byte {
	b := make([]byte, 0, 64+len(ctrl))
	b = append(b, "MSH|^~\\&|RELAY||||||ACK|"...)
	b = append(b, ctrl...)
	b = append(b, "|P|2.5\rMSA|"...)
	b = append(b, code...)
	b = append(b, '|')
	b = append(b, ctrl...)
	return append(b, '\r')
}
