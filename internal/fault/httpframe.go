package fault

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// This file holds what our HTTP toxics share: a framer that finds the
// boundaries of HTTP/1.x messages in a stream of chunks without changing a
// byte of what it passes, and the Pipe loop that drives it.
//
// Toxiproxy's constraints shape it (see DESIGN.md, "Facts learned by
// probing"):
//   - Toxiproxy's stream reader loses the tail of a chunk larger than 32 KiB
//     when another chunk is queued, so every chunk we emit is at most 32 KiB.
//   - An interrupt (a toxic added after ours, ours updated or removed) must
//     make Pipe return promptly and lose nothing; EOF (a nil chunk, then a
//     closed channel) must never be swallowed. We read the channels directly,
//     with no buffering reader that could eat either.
//   - A toxic may be added to a connection in the middle of a message. The
//     framer starts unsynced and only takes a chunk that starts like a
//     message head as a boundary; until then it passes data unchanged.
//   - Toxiproxy restarts Pipe after each interrupt and draws toxicity again,
//     so a NoopToxic may carry the data in between: on interrupt we flush
//     everything we hold, and a restarted Pipe starts unsynced.

const (
	maxChunk = 32 << 10 // largest chunk we emit
	maxHead  = 64 << 10 // a longer head is not HTTP we understand: pass it
	maxLine  = 4 << 10  // longest chunk-size or trailer line we parse
	maxHold  = 1 << 20  // a hit response larger than this is passed unchanged
	// flushTimeout bounds each write of the data flushed on interrupt, as
	// Toxiproxy's own toxics do, so a dead connection cannot hang the API.
	flushTimeout = 5 * time.Second
)

// msgKind says which side of the conversation a stream carries.
type msgKind uint8

const (
	requests  msgKind = iota // the upstream stream
	responses                // the downstream stream
)

// msgHead is what a toxic's decision may look at.
type msgHead struct {
	Method     string // requests only
	Path       string // requests only
	Status     int    // responses only
	ProtoMinor int    // HTTP/1.x
	Close      bool   // the connection closes after this message
	Final      bool   // a final response (not 1xx); always true for requests
}

// verdict is a toxic's decision about one message.
type verdict struct {
	// delay holds the message (and everything after it) back this long.
	delay time.Duration
	// replace, if not nil, is sent instead of the message once the whole
	// message has arrived; the original is dropped. Final responses only.
	replace func(h *msgHead) []byte
	// cut drops the message, and everything after it, and ends the
	// connection: the client never sees it. Final responses only.
	cut bool
}

type frameState uint8

const (
	stSync       frameState = iota // not at a known boundary: pass; a chunk starting like a head syncs
	stHead                         // accumulating a message head
	stBody                         // p.remaining bytes of a Content-Length body
	stChunkSize                    // reading a chunk-size line
	stChunkData                    // p.remaining bytes of chunk data
	stChunkEnd                     // the CRLF after chunk data
	stTrailer                      // trailer lines up to an empty line
	stUntilClose                   // a response body delimited by the connection's close
	stRaw                          // no longer HTTP (upgrade, CONNECT): pass everything
)

// framer is a push parser over one direction of one connection. It routes
// every input byte exactly once: to out (in order), into a held head or a
// held response, and never anywhere else.
type framer struct {
	kind   msgKind
	decide func(*msgHead) verdict

	st        frameState
	remaining int64
	line      []byte // the chunk-size or trailer line being parsed
	rawAfter  bool   // switch to stRaw once the current message ends

	in      []byte // input not yet processed
	inTS    time.Time
	atStart bool // in begins where an input chunk began
	span    []byte
	spanTS  time.Time

	head []byte // the head being accumulated

	// A hit response is held until it is complete, then replaced.
	hold        bool
	held        []byte
	replacement []byte

	// A delayed message head waits here, and the framer stops, until due.
	delayed      []byte
	delayedUntil time.Time

	// cut is set once a message was cut: the framer takes no more input,
	// and the connection is to be closed once out is sent.
	cut bool

	out []*stream.StreamChunk
}

func newFramer(kind msgKind, decide func(*msgHead) verdict) *framer {
	return &framer{kind: kind, decide: decide, st: stSync}
}

// feed queues an input chunk; step processes it.
func (f *framer) feed(c *stream.StreamChunk) {
	f.in = c.Data
	f.inTS = c.Timestamp
	f.atStart = true
}

// step processes queued input until it is used up, a message is delayed or
// one was cut.
func (f *framer) step() {
	for len(f.in) > 0 && f.delayed == nil && !f.cut {
		n := f.consume(f.in)
		f.in = f.in[n:]
		f.atStart = false
		if f.cut {
			f.in = nil // the rest of the connection is dropped
		}
	}
	f.flushSpan()
}

// consume processes a prefix of data and returns its length (at least 1
// unless a message got delayed).
func (f *framer) consume(data []byte) int {
	switch f.st {
	case stSync:
		if f.atStart && looksLikeHead(f.kind, data) {
			f.st = stHead
			return 0
		}
		f.pass(data)
		return len(data)

	case stHead:
		from := max(0, len(f.head)-3)
		f.head = append(f.head, data...)
		end := headEnd(f.head, from)
		if end < 0 {
			if len(f.head) > maxHead {
				f.unsync()
			}
			return len(data)
		}
		used := len(data) - (len(f.head) - end)
		f.head = f.head[:end]
		f.onHead()
		return used

	case stBody, stChunkData:
		n := int(min(int64(len(data)), f.remaining))
		f.pass(data[:n])
		f.remaining -= int64(n)
		if f.remaining == 0 {
			if f.st == stBody {
				f.endMessage()
			} else {
				f.st = stChunkEnd
			}
		}
		return n

	case stChunkSize, stChunkEnd, stTrailer:
		i := bytes.IndexByte(data, '\n')
		n := len(data)
		if i >= 0 {
			n = i + 1
		}
		f.pass(data[:n])
		f.line = append(f.line, data[:n]...)
		if len(f.line) > maxLine {
			f.lose()
			return n
		}
		if i >= 0 {
			f.onLine()
		}
		return n

	default: // stUntilClose, stRaw
		f.pass(data)
		return len(data)
	}
}

// onLine handles a complete line of a chunked body.
func (f *framer) onLine() {
	line := strings.TrimRight(string(f.line), "\r\n")
	f.line = f.line[:0]
	switch f.st {
	case stChunkSize:
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		switch {
		case err != nil || size < 0:
			f.lose()
		case size == 0:
			f.st = stTrailer
		default:
			f.st, f.remaining = stChunkData, size
		}
	case stChunkEnd:
		if line != "" {
			f.lose()
			return
		}
		f.st = stChunkSize
	case stTrailer:
		if line == "" {
			f.endMessage()
		}
	}
}

// onHead decides about a complete head and sets up its body.
func (f *framer) onHead() {
	h, body, err := parseHead(f.kind, f.head)
	if err != nil {
		f.unsync()
		return
	}
	var v verdict
	if f.decide != nil {
		v = f.decide(h)
	}
	switch {
	case v.cut && h.Final && f.kind == responses:
		f.flushSpan()
		f.cut = true
		f.head = nil
		return
	case v.replace != nil && h.Final && f.kind == responses:
		f.flushSpan()
		f.hold = true
		f.held = f.head
		f.replacement = v.replace(h)
	case v.delay > 0:
		f.flushSpan()
		f.delayed = f.head
		f.delayedUntil = time.Now().Add(v.delay)
	default:
		f.emit(f.head, f.inTS)
	}
	f.head = nil
	f.rawAfter = body.raw
	switch {
	case body.chunked:
		f.st = stChunkSize
	case body.untilClose:
		f.st = stUntilClose
	case body.length > 0:
		f.st, f.remaining = stBody, body.length
	default:
		f.endMessage()
	}
}

// endMessage moves on after a complete message, sending the replacement of
// a held one.
func (f *framer) endMessage() {
	if f.hold {
		f.flushSpan()
		f.emit(f.replacement, f.inTS)
		f.hold, f.held, f.replacement = false, nil, nil
	}
	f.st = stHead
	if f.rawAfter {
		f.st = stRaw
	}
}

// lose gives up on a body that is not framed as we understand it: a held
// response passes unchanged after all, and the framer waits for a chunk that
// starts like a head.
func (f *framer) lose() {
	f.line = f.line[:0]
	if f.hold {
		f.flushSpan()
		f.emit(f.held, f.inTS)
		f.hold, f.held, f.replacement = false, nil, nil
	}
	f.st = stSync
}

// unsync gives up on the current head: it passes unchanged and the framer
// waits for a chunk that starts like a head.
func (f *framer) unsync() {
	f.flushSpan()
	f.emit(f.head, f.inTS)
	f.head = nil
	f.st = stSync
}

// pass routes data (a sub-slice of f.in) unchanged: into the held response,
// or out, merged with the adjacent bytes passed before it.
func (f *framer) pass(data []byte) {
	if len(data) == 0 {
		return
	}
	if f.hold {
		if len(f.held)+len(data) <= maxHold {
			f.held = append(f.held, data...)
			return
		}
		// Too big to hold: this one passes after all.
		f.emit(f.held, f.inTS)
		f.hold, f.held, f.replacement = false, nil, nil
	}
	if len(f.span) > 0 && sameArrayNext(f.span, data) {
		f.span = f.span[:len(f.span)+len(data)]
		return
	}
	f.flushSpan()
	f.span, f.spanTS = data, f.inTS
}

func (f *framer) flushSpan() { f.emit(nil, time.Time{}) }

// sameArrayNext reports whether b starts right where a ends in memory, so
// a[:len(a)+len(b)] is their concatenation.
func sameArrayNext(a, b []byte) bool {
	return cap(a) >= len(a)+len(b) && len(b) > 0 && &a[:len(a)+1][len(a)] == &b[0]
}

// emit queues data out, after the bytes passed before it, in chunks of at
// most maxChunk. The framer never writes to a slice it has emitted.
func (f *framer) emit(data []byte, ts time.Time) {
	if len(f.span) > 0 {
		span := f.span
		f.span = nil
		f.queue(span, f.spanTS)
	}
	f.queue(data, ts)
}

func (f *framer) queue(data []byte, ts time.Time) {
	for len(data) > 0 {
		n := min(len(data), maxChunk)
		f.out = append(f.out, &stream.StreamChunk{Data: data[:n:n], Timestamp: ts})
		data = data[n:]
	}
}

// release queues the delayed head once it is due.
func (f *framer) release() {
	f.emit(f.delayed, time.Now())
	f.delayed = nil
}

// finish handles the end of input: a response delimited by the close is now
// complete; whatever else is held goes out unchanged.
func (f *framer) finish() {
	f.flushSpan()
	if f.st == stUntilClose {
		f.endMessage()
	}
	f.drainHeld()
}

// drainHeld queues out, in stream order, everything held back.
func (f *framer) drainHeld() {
	f.flushSpan()
	if f.delayed != nil {
		f.emit(f.delayed, f.inTS)
		f.delayed = nil
	}
	if f.hold {
		f.emit(f.held, f.inTS)
		f.hold, f.held, f.replacement = false, nil, nil
	}
	f.emit(f.head, f.inTS)
	f.head = nil
	f.emit(f.in, f.inTS)
	f.in = nil
	f.st = stSync
}

// headEnd returns the length of the head at the start of b (through its
// empty line), or -1 if b holds no complete head. It looks for the empty
// line from index from on.
func headEnd(b []byte, from int) int {
	for {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return -1
		}
		j := from + i
		if j+1 < len(b) && b[j+1] == '\n' {
			return j + 2
		}
		if j+2 < len(b) && b[j+1] == '\r' && b[j+2] == '\n' {
			return j + 3
		}
		if j+2 >= len(b) {
			return -1
		}
		from = j + 1
	}
}

var methods = []string{"GET ", "POST ", "PUT ", "DELETE ", "PATCH ", "HEAD ", "OPTIONS ", "CONNECT ", "TRACE "}

// looksLikeHead reports whether data can be the start of a message head
// (data may be shorter than a start line; a prefix counts).
func looksLikeHead(kind msgKind, data []byte) bool {
	prefixOf := func(p string) bool {
		if len(data) >= len(p) {
			return string(data[:len(p)]) == p
		}
		return strings.HasPrefix(p, string(data))
	}
	if kind == responses {
		return prefixOf("HTTP/1.")
	}
	for _, m := range methods {
		if prefixOf(m) {
			return true
		}
	}
	return false
}

// bodyFraming says how a message's body is delimited.
type bodyFraming struct {
	length     int64 // Content-Length; 0 means no body
	chunked    bool
	untilClose bool
	raw        bool // the connection stops being HTTP after this message
}

var errNotHTTP = errors.New("not an HTTP/1.x message")

// parseHead parses a complete head with net/http and works out its framing.
// A response to a HEAD request cannot be told from here: it is framed as if
// it had the body its headers announce (see HTTPErrorToxic).
func parseHead(kind msgKind, head []byte) (*msgHead, bodyFraming, error) {
	br := bufio.NewReader(bytes.NewReader(head))
	if kind == requests {
		req, err := http.ReadRequest(br)
		if err != nil {
			return nil, bodyFraming{}, err
		}
		if req.ProtoMajor != 1 {
			return nil, bodyFraming{}, errNotHTTP
		}
		h := &msgHead{Method: req.Method, Path: req.URL.Path, ProtoMinor: req.ProtoMinor, Close: req.Close, Final: true}
		var b bodyFraming
		switch {
		case req.Method == http.MethodConnect:
			b.raw = true
		case isChunked(req.TransferEncoding):
			b.chunked = true
		case req.ContentLength > 0:
			b.length = req.ContentLength
		}
		if req.Header.Get("Upgrade") != "" {
			b.raw = true
		}
		return h, b, nil
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, bodyFraming{}, err
	}
	if resp.ProtoMajor != 1 {
		return nil, bodyFraming{}, errNotHTTP
	}
	h := &msgHead{Status: resp.StatusCode, ProtoMinor: resp.ProtoMinor, Close: resp.Close}
	var b bodyFraming
	switch code := resp.StatusCode; {
	case code == http.StatusSwitchingProtocols:
		b.raw = true
	case code >= 100 && code < 200:
		// An interim response; the final one follows.
	case code == http.StatusNoContent || code == http.StatusNotModified:
		h.Final = true
	case isChunked(resp.TransferEncoding):
		h.Final, b.chunked = true, true
	case resp.ContentLength >= 0:
		h.Final, b.length = true, resp.ContentLength
	default:
		h.Final, b.untilClose = true, true
	}
	return h, b, nil
}

func isChunked(te []string) bool {
	return len(te) > 0 && te[len(te)-1] == "chunked"
}

// pipeHTTP is the Pipe of our HTTP toxics: it runs a framer over the stub's
// input until EOF (then closes the stub) or an interrupt (then flushes all
// it holds, unchanged, and returns).
func pipeHTTP(stub *toxics.ToxicStub, kind msgKind, decide func(*msgHead) verdict) {
	f := newFramer(kind, decide)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	interrupted := func() {
		f.drainHeld()
		for _, c := range f.out {
			if stub.WriteOutput(c, flushTimeout) != nil {
				return // the connection is gone; nothing left to keep
			}
		}
	}
	eof := false
	for {
		for len(f.out) > 0 {
			select {
			case stub.Output <- f.out[0]:
				f.out[0] = nil
				f.out = f.out[1:]
			case <-stub.Interrupt:
				interrupted()
				return
			}
		}
		f.out = f.out[:0]
		if f.cut {
			stub.Close()
			// Whatever else comes is dropped; reading it on keeps the
			// toxic before this one from blocking until the link ends.
			for c := range stub.Input {
				if c == nil {
					return
				}
			}
			return
		}
		if f.delayed != nil {
			if d := time.Until(f.delayedUntil); d > 0 {
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				select {
				case <-timer.C:
				case <-stub.Interrupt:
					interrupted()
					return
				}
			}
			f.release()
			f.step()
			continue
		}
		if eof {
			stub.Close()
			return
		}
		if len(f.in) > 0 {
			f.step()
			continue
		}
		select {
		case <-stub.Interrupt:
			interrupted()
			return
		case c := <-stub.Input:
			if c == nil {
				eof = true
				f.finish()
				continue
			}
			f.feed(c)
			f.step()
		}
	}
}
