package fault

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// msg is one message of a test stream and whether a replace-everything
// toxic may replace it (a final response).
type msg struct {
	raw   string
	final bool
}

const replacement = "HTTP/1.1 503 X\r\nContent-Length: 0\r\n\r\n"

func replaceAll(*msgHead) verdict {
	return verdict{replace: func(*msgHead) []byte { return []byte(replacement) }}
}

// runFramer drives a framer over chunks as pipeHTTP does, releasing delays
// at once, and returns what it emitted.
func runFramer(tb testing.TB, kind msgKind, decide func(*msgHead) verdict, chunks [][]byte) []byte {
	tb.Helper()
	f := newFramer(kind, decide)
	var out bytes.Buffer
	collect := func() {
		for _, c := range f.out {
			if len(c.Data) > maxChunk {
				tb.Fatalf("emitted a chunk of %d bytes, over %d", len(c.Data), maxChunk)
			}
			out.Write(c.Data)
		}
		f.out = f.out[:0]
	}
	for _, c := range chunks {
		f.feed(&stream.StreamChunk{Data: c, Timestamp: time.Now()})
		f.step()
		for f.delayed != nil {
			collect()
			f.release()
			f.step()
		}
		collect()
	}
	f.finish()
	collect()
	return out.Bytes()
}

// splits returns ways to cut s into chunks: whole, at every byte in two, and
// one byte at a time.
func splits(s string) [][][]byte {
	b := []byte(s)
	out := [][][]byte{{b}}
	for i := 1; i < len(b); i++ {
		out = append(out, [][]byte{b[:i:i], b[i:]})
	}
	var ones [][]byte
	for i := range b {
		ones = append(ones, b[i:i+1:i+1])
	}
	return append(out, ones)
}

func TestFramerResponses(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 5000) // 80 000 bytes: spans chunks of 32 KiB
	tests := []struct {
		name string
		msgs []msg
	}{
		{"content-length", []msg{{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true}}},
		{"keep-alive pair", []msg{
			{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", true},
			{"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true},
		}},
		{"chunked with extension and trailer", []msg{
			{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n", true},
			{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", true},
		}},
		{"no body statuses", []msg{
			{"HTTP/1.1 204 No Content\r\n\r\n", true},
			{"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", true},
			{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny", true},
		}},
		{"interim then final", []msg{
			{"HTTP/1.1 100 Continue\r\n\r\n", false},
			{"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nabc", true},
		}},
		{"bare LF head", []msg{{"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", true}}},
		{"until close", []msg{{"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until close", true}}},
		{"large body", []msg{
			{"HTTP/1.1 200 OK\r\nContent-Length: 80000\r\n\r\n" + big, true},
			{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in, want strings.Builder
			for _, m := range tt.msgs {
				in.WriteString(m.raw)
				if m.final {
					want.WriteString(replacement)
				} else {
					want.WriteString(m.raw)
				}
			}
			cuts := splits(in.String())
			if len(in.String()) > 2000 {
				cuts = [][][]byte{{[]byte(in.String())}, chunked([]byte(in.String()), 32<<10), chunked([]byte(in.String()), 1000)}
			}
			for i, chunks := range cuts {
				if got := runFramer(t, responses, nil, chunks); string(got) != in.String() {
					t.Fatalf("split %d, pass: output differs from input:\n got %q\nwant %q", i, trim(got), trim([]byte(in.String())))
				}
				if got := runFramer(t, responses, replaceAll, chunks); string(got) != want.String() {
					t.Fatalf("split %d, replace: got %q, want %q", i, trim(got), trim([]byte(want.String())))
				}
			}
		})
	}
}

func chunked(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k:k])
		b = b[k:]
	}
	return out
}

func trim(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "..."...)
	}
	return b
}

func TestFramerRequests(t *testing.T) {
	in := "GET /login?x=1 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST /wallet/charge HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world" +
		"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"DELETE /cart/items/p1 HTTP/1.1\r\nHost: a\r\n\r\n"
	wantPaths := "/login /wallet/charge /echo /cart/items/p1"
	for i, chunks := range splits(in) {
		var paths []string
		decide := func(h *msgHead) verdict {
			paths = append(paths, h.Path)
			return verdict{delay: time.Nanosecond}
		}
		if got := runFramer(t, requests, decide, chunks); string(got) != in {
			t.Fatalf("split %d: output differs from input: %q", i, got)
		}
		if got := strings.Join(paths, " "); got != wantPaths {
			t.Fatalf("split %d: decided on %q, want %q", i, got, wantPaths)
		}
	}
}

func TestFramerSync(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"added mid-body: passes until a chunk starts a head", []string{"tail of a body", resp}, "tail of a body" + replacement},
		{"head-like text inside a chunk is not a boundary", []string{"xx" + resp}, "xx" + resp},
		{"garbage head passes", []string{"HTTP/1.1 banana\r\n\r\n", resp}, "HTTP/1.1 banana\r\n\r\n" + replacement},
		{"bad chunk size gives up on the message, held bytes pass", []string{
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "more", resp,
		}, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nmore" + replacement},
		{"incomplete at EOF passes", []string{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
		{"101 switches to raw", []string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", resp}, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n" + resp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chunks [][]byte
			for _, c := range tt.chunks {
				chunks = append(chunks, []byte(c))
			}
			if got := runFramer(t, responses, replaceAll, chunks); string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFramerHoldLimit(t *testing.T) {
	body := bytes.Repeat([]byte("z"), maxHold+10)
	in := append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))), body...)
	if got := runFramer(t, responses, replaceAll, chunked(in, 32<<10)); !bytes.Equal(got, in) {
		t.Fatalf("a response over the hold limit must pass unchanged (got %d bytes, want %d)", len(got), len(in))
	}
}

// TestPipeInterrupt checks the Pipe loop on a real stub: an interrupt
// while a hit response is held flushes it unchanged, and EOF closes the
// output after a restart.
func TestPipeInterrupt(t *testing.T) {
	input := make(chan *stream.StreamChunk)
	output := make(chan *stream.StreamChunk, 64)
	stub := toxics.NewToxicStub(input, output)
	tox := &toxics.ToxicWrapper{Toxic: new(HTTPErrorToxic), Toxicity: 1}
	go stub.Run(tox)

	part := "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
	input <- &stream.StreamChunk{Data: []byte(part), Timestamp: time.Now()}
	if !stub.InterruptToxic() {
		t.Fatal("stub closed unexpectedly")
	}
	if got := drain(output); got != part {
		t.Fatalf("after interrupt got %q, want the held bytes %q", got, part)
	}
	// Restarted (as Toxiproxy does): the rest passes, the next response is hit.
	go stub.Run(tox)
	next := "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
	input <- &stream.StreamChunk{Data: []byte("defghij"), Timestamp: time.Now()}
	input <- &stream.StreamChunk{Data: []byte(next), Timestamp: time.Now()}
	close(input)
	var got strings.Builder
	for c := range output { // ends when the stub closes its output at EOF
		got.Write(c.Data)
	}
	if !strings.HasPrefix(got.String(), "defghij") || !strings.Contains(got.String(), "503 Service Unavailable") {
		t.Fatalf("after restart got %q", got.String())
	}
}

func drain(ch chan *stream.StreamChunk) string {
	var b strings.Builder
	for {
		select {
		case c := <-ch:
			b.Write(c.Data)
		default:
			return b.String()
		}
	}
}

// FuzzFramer checks that whatever arrives, in whatever chunks, a framer that
// decides nothing passes it byte for byte, and one that replaces everything
// neither panics nor emits oversized chunks.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), uint16(7), true)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 100 Continue\r\n\r\n"), uint16(1), true)
	f.Add([]byte("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b\r\nz\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\n\r\n"), uint16(3), false)
	f.Fuzz(func(t *testing.T, data []byte, cut uint16, resp bool) {
		kind := requests
		if resp {
			kind = responses
		}
		n := int(cut%64) + 1
		if got := runFramer(t, kind, nil, chunked(data, n)); !bytes.Equal(got, data) {
			t.Fatalf("pass-through changed the stream:\n got %q\nwant %q", got, data)
		}
		runFramer(t, kind, replaceAll, chunked(data, n))
	})
}
