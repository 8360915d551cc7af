package router

import (
	"net/url"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/validation"
)

// maxRecordHeaders bounds the headers a headerBuf holds without
// allocating its bookkeeping.
const maxRecordHeaders = 20

// headerBuf builds a record's headers with all their values (and the key)
// in one byte buffer: one allocation where a []byte per value took one
// each. Values are appended piece by piece between begin and end and
// sliced out only by headers, once the buffer no longer grows. A header
// whose value is empty is left out, as appendHeader does.
type headerBuf struct {
	keys [maxRecordHeaders]string
	ends [maxRecordHeaders + 1]int // ends[i+1] is where value i ends
	n    int
	buf  []byte
}

func newHeaderBuf(size int) *headerBuf {
	return &headerBuf{buf: make([]byte, 0, size)}
}

// add appends a header whose value is v.
func (hb *headerBuf) add(k, v string) {
	hb.begin(k)
	hb.buf = append(hb.buf, v...)
	hb.end()
}

// begin starts the value of header k.
func (hb *headerBuf) begin(k string) { hb.keys[hb.n] = k }

// end closes the value begun last, dropping the header when it is empty.
func (hb *headerBuf) end() {
	if len(hb.buf) == hb.ends[hb.n] {
		return
	}
	hb.n++
	hb.ends[hb.n] = len(hb.buf)
}

// headers returns the headers added, values capacity-clipped slices of
// the one buffer.
func (hb *headerBuf) headers() []kgo.RecordHeader {
	h := make([]kgo.RecordHeader, hb.n)
	for i := range h {
		s, e := hb.ends[i], hb.ends[i+1]
		h[i] = kgo.RecordHeader{Key: hb.keys[i], Value: hb.buf[s:e:e]}
	}
	return h
}

// tail returns the bytes appended after the last header's value (the
// record key), capacity-clipped.
func (hb *headerBuf) tail() []byte {
	s := hb.ends[hb.n]
	return hb.buf[s:len(hb.buf):len(hb.buf)]
}

// appendSource appends HL7Source(connector, facility, app).
func appendSource(b []byte, connector, facility, app string) []byte {
	b = append(b, "/gateway/"...)
	b = append(b, url.PathEscape(connector)...)
	b = append(b, '/')
	b = append(b, url.PathEscape(facility)...)
	b = append(b, '/')
	return append(b, url.PathEscape(app)...)
}

// appendWarnings appends WarningsHeader(fs).
func appendWarnings(b []byte, fs validation.Findings) []byte {
	b = strconv.AppendInt(b, int64(len(fs)), 10)
	b = append(b, ':')
	for i, f := range fs {
		if i == maxWarningPositions {
			b = append(b, ",..."...)
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(f.Code), 10)
		b = append(b, '@')
		b = append(b, f.Location...)
	}
	return b
}
