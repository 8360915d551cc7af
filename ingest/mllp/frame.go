// Package mllp implements the Minimal Lower Layer Protocol (HL7 v2.5.1
// Implementation Guide: Transmission and Transport Protocol, appendix C):
// framing, a server that hands each received frame to a Handler and writes
// its answer back, and a small client.
//
// A frame is
//
//	0x0B payload 0x1C 0x0D
//
// The package knows nothing about HL7 content: payloads are opaque bytes.
package mllp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Frame delimiters.
const (
	StartBlock     = 0x0B // <VT>, starts a frame
	EndBlock       = 0x1C // <FS>, first byte of the frame trailer
	CarriageReturn = 0x0D // <CR>, second byte of the frame trailer
)

// DefaultMaxFrameSize is the payload limit used when none is given.
const DefaultMaxFrameSize = 1 << 20

// ErrFrameTooLarge is returned (wrapped, with the sizes) when a payload
// exceeds the Reader's limit. Test for it with errors.Is.
var ErrFrameTooLarge = errors.New("mllp: frame exceeds size limit")

// readBufferSize is the size of the Reader's socket buffer. It bounds the
// per-connection memory together with the frame limit.
const readBufferSize = 32 << 10

// keepCap is the payload buffer capacity kept between frames; a larger
// buffer (grown by one big frame) is released at the next call so that idle
// connections hold little memory.
const keepCap = 64 << 10

// Reader reads MLLP frames from an io.Reader.
//
// Framing rules:
//   - Bytes before a start block (0x0B) are discarded and counted
//     (Discarded), as are bytes between a frame trailer and the next start
//     block (for example a "\n" some senders append).
//   - A frame ends only at the two-byte trailer 0x1C 0x0D. A 0x1C followed by
//     any other byte is payload, and so is a 0x0B inside a frame: the standard
//     defines the trailer as the pair, and a tolerant reader loses nothing by
//     keeping a lone 0x1C. A sender that ends frames with 0x1C alone is
//     therefore never answered (its frame ends at the read timeout).
//
// A Reader is not safe for concurrent use. It never holds more than
// maxFrameSize payload bytes plus a fixed 32 KiB read buffer.
type Reader struct {
	br        *bufio.Reader
	max       int
	buf       []byte
	discarded int64
	inFrame   bool // a start block was read and the trailer not yet
	skip      bool // the rest of an oversized frame must be skipped
	pendingFS bool // while skipping: the last byte consumed was a 0x1C

	// onStart, when set, is called each time a start block is read (the
	// server uses it to switch from the idle to the read timeout).
	onStart func()
}

// NewReader returns a Reader that reads frames from r with payloads of at
// most maxFrameSize bytes; maxFrameSize <= 0 means DefaultMaxFrameSize.
func NewReader(r io.Reader, maxFrameSize int) *Reader {
	if maxFrameSize <= 0 {
		maxFrameSize = DefaultMaxFrameSize
	}
	return &Reader{br: bufio.NewReaderSize(r, readBufferSize), max: maxFrameSize}
}

// Discarded returns the number of bytes discarded so far: bytes outside
// frames and the unread remainder of oversized frames.
func (r *Reader) Discarded() int64 { return r.discarded }

// InFrame reports whether the last ReadFrame call stopped inside a frame
// (after its start block, before its trailer), for example on a timeout.
func (r *Reader) InFrame() bool { return r.inFrame }

// ReadFrame blocks until a whole frame is read and returns its payload
// (without delimiters). The returned slice is valid until the next call.
//
// Errors:
//   - io.EOF when the stream ends outside a frame (discarded bytes included);
//   - io.ErrUnexpectedEOF when it ends inside a frame;
//   - ErrFrameTooLarge (wrapped) when the payload exceeds the limit; the
//     reader stops at that point, and a following call first skips the rest
//     of the oversized frame (counted as discarded) and then reads on;
//   - any other error of the underlying reader, wrapped (a net.Error
//     timeout stays visible to errors.As). After such an error the stream
//     position is undefined: close the connection.
func (r *Reader) ReadFrame() ([]byte, error) {
	if cap(r.buf) > keepCap {
		r.buf = nil
	}
	r.buf = r.buf[:0]
	if r.skip {
		if err := r.skipFrame(); err != nil {
			return nil, err
		}
	}
	if err := r.findStart(); err != nil {
		return nil, err
	}
	if r.onStart != nil {
		r.onStart()
	}
	return r.readPayload()
}

// TakeFrame is ReadFrame for a caller that keeps the payload: the slice it
// returns is the caller's and never reused by the Reader. A payload that
// grew the buffer past keepCap is handed over as it is, since ReadFrame
// would drop that buffer at the next call anyway; a smaller one is copied.
// So a large frame costs its buffer's growth and no copy.
func (r *Reader) TakeFrame() ([]byte, error) {
	p, err := r.ReadFrame()
	if err != nil {
		return nil, err
	}
	if cap(r.buf) > keepCap {
		r.buf = nil
		return p[:len(p):len(p)], nil
	}
	return bytes.Clone(p), nil
}

// scan returns the buffered bytes up to and including the first delim, or
// all buffered bytes when there is none (found false), reading from the
// underlying reader only when nothing is buffered. Unlike ReadSlice it
// returns as soon as any data is available, so the frame limit is enforced
// on data as it arrives. The chunk is consumed and valid until the next read.
func (r *Reader) scan(delim byte) (chunk []byte, found bool, err error) {
	if r.br.Buffered() == 0 {
		if _, err := r.br.Peek(1); err != nil {
			return nil, false, err
		}
	}
	chunk, _ = r.br.Peek(r.br.Buffered())
	if i := bytes.IndexByte(chunk, delim); i >= 0 {
		chunk, found = chunk[:i+1], true
	}
	_, _ = r.br.Discard(len(chunk))
	return chunk, found, nil
}

// peekCR reports whether the next byte is a 0x0D, consuming it if so.
func (r *Reader) peekCR() (bool, error) {
	next, err := r.br.Peek(1)
	if err != nil {
		return false, err
	}
	if next[0] != CarriageReturn {
		return false, nil
	}
	_, _ = r.br.Discard(1)
	return true, nil
}

// readErr maps an underlying error met inside a frame.
func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return fmt.Errorf("mllp: read frame: %w", err)
}

// findStart discards bytes up to and including the next start block.
func (r *Reader) findStart() error {
	for {
		chunk, found, err := r.scan(StartBlock)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return fmt.Errorf("mllp: read: %w", err)
		}
		if found {
			r.discarded += int64(len(chunk) - 1)
			r.inFrame = true
			return nil
		}
		r.discarded += int64(len(chunk))
	}
}

// readPayload reads up to the trailer, appending to r.buf within the limit.
func (r *Reader) readPayload() ([]byte, error) {
	for {
		chunk, found, err := r.scan(EndBlock)
		if err != nil {
			return nil, readErr(err)
		}
		n := len(chunk)
		if found {
			n-- // the 0x1C, payload or trailer: decided below
		}
		if len(r.buf)+n > r.max {
			// The consumed 0x1C (found) may be the first trailer byte.
			return nil, r.tooLarge(len(r.buf)+n, len(chunk), found)
		}
		r.grow(n)
		r.buf = append(r.buf, chunk[:n]...)
		if !found {
			continue
		}
		cr, err := r.peekCR()
		if err != nil {
			return nil, readErr(err)
		}
		if cr {
			r.inFrame = false
			return r.buf, nil
		}
		// A lone 0x1C is payload.
		if len(r.buf)+1 > r.max {
			return nil, r.tooLarge(len(r.buf)+1, 1, false) // the consumed 0x1C
		}
		r.buf = append(r.buf, EndBlock)
	}
}

// grow makes room for n more payload bytes (len(r.buf)+n <= r.max),
// doubling the buffer: append's growth for large slices is about 1.25x,
// and a frame of a few hundred KiB arriving in 32 KiB chunks was then
// reallocated a dozen times, allocating five times its size.
func (r *Reader) grow(n int) {
	need := len(r.buf) + n
	if need <= cap(r.buf) {
		return
	}
	b := make([]byte, len(r.buf), max(need, min(2*cap(r.buf), r.max)))
	copy(b, r.buf)
	r.buf = b
}

// tooLarge drops the payload read so far (plus consumed, the bytes of the
// current chunk, and the start block) and arranges for the rest of the frame
// to be skipped; pendingFS tells that the last consumed byte was a 0x1C.
func (r *Reader) tooLarge(atLeast, consumed int, pendingFS bool) error {
	r.discarded += int64(1 + len(r.buf) + consumed)
	r.buf = r.buf[:0]
	r.skip, r.pendingFS = true, pendingFS
	return fmt.Errorf("%w: payload at least %d bytes, limit %d", ErrFrameTooLarge, atLeast, r.max)
}

// skipFrame discards the rest of an oversized frame, up to its trailer.
func (r *Reader) skipFrame() error {
	for {
		if !r.pendingFS {
			chunk, found, err := r.scan(EndBlock)
			if err != nil {
				return readErr(err)
			}
			r.discarded += int64(len(chunk))
			if !found {
				continue
			}
		}
		r.pendingFS = false
		cr, err := r.peekCR()
		if err != nil {
			return readErr(err)
		}
		if cr {
			r.discarded++
			r.skip = false
			r.inFrame = false
			return nil
		}
	}
}

// AppendFrame appends payload framed as 0x0B payload 0x1C 0x0D to dst and
// returns the extended slice.
func AppendFrame(dst, payload []byte) []byte {
	dst = append(dst, StartBlock)
	dst = append(dst, payload...)
	return append(dst, EndBlock, CarriageReturn)
}

// WriteFrame writes payload as one frame with a single Write call, so that
// concurrent writers on a net.Conn never interleave frames. It blocks as
// long as w.Write does.
func WriteFrame(w io.Writer, payload []byte) error {
	buf := AppendFrame(make([]byte, 0, len(payload)+3), payload)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("mllp: write frame: %w", err)
	}
	return nil
}
