package fault

import (
	"strings"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// TestFramerCut: a cut response is dropped with everything after it, in
// whatever chunks it comes; the responses before it pass, and so do
// interim ones.
func TestFramerCut(t *testing.T) {
	first := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
	interim := "HTTP/1.1 100 Continue\r\n\r\n"
	hit := "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello"
	after := "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
	n := 0
	cutSecond := func(h *msgHead) verdict {
		if !h.Final {
			return verdict{}
		}
		n++
		return verdict{cut: n == 2}
	}
	for i, chunks := range splits(first + interim + hit + after) {
		n = 0
		f := newFramer(responses, cutSecond)
		var out strings.Builder
		for _, c := range chunks {
			f.feed(&stream.StreamChunk{Data: c, Timestamp: time.Now()})
			f.step()
			for _, c := range f.out {
				out.WriteString(string(c.Data))
			}
			f.out = f.out[:0]
		}
		if !f.cut {
			t.Fatalf("split %d: the second final response was not cut", i)
		}
		if got, want := out.String(), first+interim; got != want {
			t.Fatalf("split %d: passed %q, want %q", i, got, want)
		}
	}
}

// TestPipeCut: on a real stub, a cut closes the output after what came
// before it, and the toxic goes on reading its input (so the toxic before
// it is never left blocked) until that ends.
func TestPipeCut(t *testing.T) {
	input := make(chan *stream.StreamChunk)
	output := make(chan *stream.StreamChunk, 64)
	stub := toxics.NewToxicStub(input, output)
	tox := &toxics.ToxicWrapper{Toxic: new(HTTPCutToxic), Toxicity: 1}
	done := make(chan struct{})
	go func() { stub.Run(tox); close(done) }()

	input <- &stream.StreamChunk{Data: []byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"), Timestamp: time.Now()}
	for range output { // ends when the cut closes the output
		t.Fatal("a response passed a toxic that cuts every one")
	}
	// Still read: the previous toxic can hand on what it holds.
	input <- &stream.StreamChunk{Data: []byte("HTTP/1.1 200 OK\r\n\r\n"), Timestamp: time.Now()}
	close(input)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the toxic did not return once its input ended")
	}
}

// TestHTTPCutStatus: with a status, only the responses with it are cut.
func TestHTTPCutStatus(t *testing.T) {
	var tox HTTPCutToxic
	if err := tox.UnmarshalJSON([]byte(`{"status":201}`)); err != nil {
		t.Fatal(err)
	}
	input := make(chan *stream.StreamChunk)
	output := make(chan *stream.StreamChunk, 64)
	stub := toxics.NewToxicStub(input, output)
	go stub.Run(&toxics.ToxicWrapper{Toxic: &tox, Toxicity: 1})
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	input <- &stream.StreamChunk{Data: []byte(ok + "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx"), Timestamp: time.Now()}
	var got strings.Builder
	for c := range output { // ends when the cut closes the output
		got.Write(c.Data)
	}
	if got.String() != ok {
		t.Fatalf("passed %q, want only the 200 %q", got.String(), ok)
	}
	close(input)
}

// TestHTTPCutAttributes: the rate is a share; anything else is refused.
func TestHTTPCutAttributes(t *testing.T) {
	for _, tt := range []struct {
		json string
		ok   bool
	}{{`{"rate":0.3}`, true}, {`{}`, true}, {`{"status":201,"rate":0.5}`, true}, {`{"rate":1.5}`, false},
		{`{"rate":-0.1}`, false}, {`{"status":99}`, false}, {`{"status":600}`, false}, {`{"latency":5}`, false}} {
		var tox HTTPCutToxic
		err := tox.UnmarshalJSON([]byte(tt.json))
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok %v", tt.json, err, tt.ok)
		}
	}
	var tox HTTPCutToxic
	if err := tox.UnmarshalJSON([]byte(`{"rate":0.25}`)); err != nil || tox.settings().Rate != 0.25 {
		t.Errorf("rate 0.25: %+v, %v", tox.settings(), err)
	}
}
