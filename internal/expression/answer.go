package expression

import (
	"net/http"
	"time"
)

// Reads are the parts of an HTTP answer that some expressions read, so that
// an answer nobody reads is not decoded.
type Reads struct {
	Body, Text, Headers bool
}

// Add marks the parts of an answer p reads; a nil p reads nothing.
func (r *Reads) Add(p *Program) {
	if p == nil {
		return
	}
	r.Body = r.Body || p.Uses("body")
	r.Text = r.Text || p.Uses("text")
	r.Headers = r.Headers || p.Uses("headers")
}

// Answer puts what expressions see of an HTTP answer into env: status and
// duration_ms always; headers (the first value of each), text (the body as
// text) and body (its JSON value, nil when it is not JSON) when r says they
// are read.
func Answer(env map[string]any, r Reads, status int, header http.Header, body []byte, took time.Duration) {
	env["status"] = status
	env["duration_ms"] = float64(took) / float64(time.Millisecond)
	if r.Headers {
		h := make(map[string]string, len(header))
		for k, v := range header {
			if len(v) > 0 {
				h[k] = v[0]
			}
		}
		env["headers"] = h
	}
	if r.Text {
		env["text"] = string(body)
	}
	if r.Body {
		env["body"] = JSON(body)
	}
}
