package fault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"
)

// Type names of our toxics, as the Toxiproxy API knows them.
const (
	HTTPErrorType   = "http_error"
	HTTPLatencyType = "http_latency"
	HTTPCutType     = "http_cut"
)

func init() {
	toxics.Register(HTTPErrorType, new(HTTPErrorToxic))
	toxics.Register(HTTPLatencyType, new(HTTPLatencyToxic))
	toxics.Register(HTTPCutType, new(HTTPCutToxic))
}

// HTTPErrorToxic answers a fraction of the requests on an HTTP/1.x link with
// an error status. It goes on the downstream stream and works on responses:
// Toxiproxy v2.12 has no way for a toxic to answer on the other stream, so
// a hit request DOES reach the upstream and is processed there; when its
// response has fully arrived, the toxic sends the injected answer instead and
// drops the original. (It is the ambiguous failure of a proxy that times out
// a request the upstream has already served, not a refusal before work.)
//
// Attributes (JSON): status (400..599, default 503); rate (fraction of
// requests hit, drawn per request, default 1; toxicity still picks the
// connections); retry_after (seconds for a Retry-After header, default 0 =
// none); body (default: the storefront's envelope
// {"error":{"code","message","retry_after_s"}} with code
// temporarily_unavailable for 5xx, rate_limited for 429, injected_fault
// otherwise). The answer has the original's HTTP version, a Content-Length,
// X-Gameday-Fault: http_error, and Connection: close when the original closed
// the connection, so keep-alive connections stay coherent. Unknown
// attributes and out-of-range values are refused by the API (400).
//
// Limits: interim (1xx) responses and 101 pass; a response larger than 1 MiB
// passes unchanged; responses to HEAD requests cannot be told from here, so
// do not use it on a link that carries HEAD. On the upstream stream it finds
// no responses and changes nothing. Removing it mid-response lets that
// response through unchanged.
type HTTPErrorToxic struct {
	s atomic.Pointer[httpErrorSettings] // nil means the defaults
}

type httpErrorSettings struct {
	Status     int     `json:"status"`
	Rate       float64 `json:"rate"`
	RetryAfter int     `json:"retry_after"`
	Body       string  `json:"body"`
}

var defaultHTTPError = httpErrorSettings{Status: http.StatusServiceUnavailable, Rate: 1}

func (t *HTTPErrorToxic) settings() httpErrorSettings {
	if p := t.s.Load(); p != nil {
		return *p
	}
	return defaultHTTPError
}

// MarshalJSON returns the attributes in effect.
func (t *HTTPErrorToxic) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.settings())
}

// UnmarshalJSON sets the attributes present in b, keeping the others, and
// refuses unknown attributes and values out of range.
func (t *HTTPErrorToxic) UnmarshalJSON(b []byte) error {
	s := t.settings()
	if err := decodeStrict(b, &s); err != nil {
		return fmt.Errorf("%s attributes: %w", HTTPErrorType, err)
	}
	switch {
	case s.Status < 400 || s.Status > 599:
		return fmt.Errorf("%s attributes: status %d not within 400..599", HTTPErrorType, s.Status)
	case !(s.Rate >= 0 && s.Rate <= 1):
		return fmt.Errorf("%s attributes: rate %v not within 0..1", HTTPErrorType, s.Rate)
	case s.RetryAfter < 0:
		return fmt.Errorf("%s attributes: retry_after %d is negative", HTTPErrorType, s.RetryAfter)
	}
	t.s.Store(&s)
	return nil
}

// Pipe implements toxics.Toxic.
func (t *HTTPErrorToxic) Pipe(stub *toxics.ToxicStub) {
	pipeHTTP(stub, responses, func(h *msgHead) verdict {
		s := t.settings()
		if s.Rate <= 0 || (s.Rate < 1 && rand.Float64() >= s.Rate) {
			return verdict{}
		}
		return verdict{replace: s.answer}
	})
}

// answer returns the injected response that replaces the response h.
func (s httpErrorSettings) answer(h *msgHead) []byte {
	text := http.StatusText(s.Status)
	if text == "" {
		text = "Error"
	}
	body, ctype := []byte(s.Body), "text/plain; charset=utf-8"
	if t := strings.TrimSpace(s.Body); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		ctype = "application/json"
	}
	if s.Body == "" {
		body, ctype = s.envelope(text), "application/json"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.%d %d %s\r\n", h.ProtoMinor, s.Status, text)
	fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n", ctype, len(body))
	if s.RetryAfter > 0 {
		fmt.Fprintf(&b, "Retry-After: %d\r\n", s.RetryAfter)
	}
	b.WriteString("X-Gameday-Fault: " + HTTPErrorType + "\r\n")
	switch {
	case h.Close:
		b.WriteString("Connection: close\r\n")
	case h.ProtoMinor == 0:
		b.WriteString("Connection: keep-alive\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// envelope is the default body: the storefront's error envelope.
func (s httpErrorSettings) envelope(text string) []byte {
	code := "injected_fault"
	switch {
	case s.Status == http.StatusTooManyRequests:
		code = "rate_limited"
	case s.Status >= 500:
		code = "temporarily_unavailable"
	}
	type errorBody struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		RetryAfter int    `json:"retry_after_s,omitempty"`
	}
	b, _ := json.Marshal(struct {
		Error errorBody `json:"error"`
	}{errorBody{code, "injected fault: " + strconv.Itoa(s.Status) + " " + text, s.RetryAfter}})
	return append(b, '\n')
}

// HTTPLatencyToxic delays the requests on an HTTP/1.x link whose path starts
// with a prefix. It goes on the upstream stream: a matching request is held
// back latency ± jitter before it is passed on, and so is everything behind
// it on the same connection (as on a real slow hop). Other requests pass at
// once.
//
// Attributes (JSON): path (prefix of the URL path; default "" = every
// request); latency and jitter (milliseconds, default 0). Unknown attributes
// and negative values are refused by the API (400). Removing the toxic sends
// a held request on at once. On the downstream stream it finds no requests
// and changes nothing.
type HTTPLatencyToxic struct {
	s atomic.Pointer[httpLatencySettings] // nil means the defaults
}

type httpLatencySettings struct {
	Path    string `json:"path"`
	Latency int64  `json:"latency"`
	Jitter  int64  `json:"jitter"`
}

func (t *HTTPLatencyToxic) settings() httpLatencySettings {
	if p := t.s.Load(); p != nil {
		return *p
	}
	return httpLatencySettings{}
}

// MarshalJSON returns the attributes in effect.
func (t *HTTPLatencyToxic) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.settings())
}

// UnmarshalJSON sets the attributes present in b, keeping the others, and
// refuses unknown attributes and negative durations.
func (t *HTTPLatencyToxic) UnmarshalJSON(b []byte) error {
	s := t.settings()
	if err := decodeStrict(b, &s); err != nil {
		return fmt.Errorf("%s attributes: %w", HTTPLatencyType, err)
	}
	if s.Latency < 0 || s.Jitter < 0 {
		return fmt.Errorf("%s attributes: latency and jitter must not be negative", HTTPLatencyType)
	}
	t.s.Store(&s)
	return nil
}

// Pipe implements toxics.Toxic.
func (t *HTTPLatencyToxic) Pipe(stub *toxics.ToxicStub) {
	pipeHTTP(stub, requests, func(h *msgHead) verdict {
		s := t.settings()
		if !strings.HasPrefix(h.Path, s.Path) {
			return verdict{}
		}
		d := s.Latency
		if s.Jitter > 0 {
			d += rand.Int64N(2*s.Jitter+1) - s.Jitter
		}
		return verdict{delay: time.Duration(max(d, 0)) * time.Millisecond}
	})
}

// HTTPCutToxic cuts the connection of a fraction of the exchanges on an
// HTTP/1.x link after the upstream answered: it goes on the downstream
// stream, and when the head of a final response arrives that is hit, the
// response and everything after it are dropped and the connection to the
// client is closed. The request reached the upstream and was served there;
// the client learns nothing of how (a phone losing its network while the
// answer is on its way). The responses before it on the connection pass.
//
// Attributes (JSON): status (only responses with this status may be hit,
// e.g. 201 for what created something; default 0: any); rate (fraction of
// those responses hit, drawn per response, default 1; toxicity still picks
// the connections). Unknown attributes, a status outside 100..599 (but 0)
// and a rate outside 0..1 are refused by the API (400). Interim (1xx)
// responses pass. On the upstream stream it finds no responses and changes
// nothing. Removing it leaves a connection it cut closed.
type HTTPCutToxic struct {
	s atomic.Pointer[httpCutSettings] // nil means the defaults
}

type httpCutSettings struct {
	Status int     `json:"status"`
	Rate   float64 `json:"rate"`
}

func (t *HTTPCutToxic) settings() httpCutSettings {
	if p := t.s.Load(); p != nil {
		return *p
	}
	return httpCutSettings{Rate: 1}
}

// MarshalJSON returns the attributes in effect.
func (t *HTTPCutToxic) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.settings())
}

// UnmarshalJSON sets the attributes present in b, keeping the others, and
// refuses unknown attributes and a rate outside 0..1.
func (t *HTTPCutToxic) UnmarshalJSON(b []byte) error {
	s := t.settings()
	if err := decodeStrict(b, &s); err != nil {
		return fmt.Errorf("%s attributes: %w", HTTPCutType, err)
	}
	if !(s.Rate >= 0 && s.Rate <= 1) {
		return fmt.Errorf("%s attributes: rate %v not within 0..1", HTTPCutType, s.Rate)
	}
	if s.Status != 0 && (s.Status < 100 || s.Status > 599) {
		return fmt.Errorf("%s attributes: status %d not within 100..599 (or 0 for any)", HTTPCutType, s.Status)
	}
	t.s.Store(&s)
	return nil
}

// Pipe implements toxics.Toxic.
func (t *HTTPCutToxic) Pipe(stub *toxics.ToxicStub) {
	pipeHTTP(stub, responses, func(h *msgHead) verdict {
		s := t.settings()
		if (s.Status != 0 && h.Status != s.Status) || s.Rate <= 0 || (s.Rate < 1 && rand.Float64() >= s.Rate) {
			return verdict{}
		}
		return verdict{cut: true}
	})
}

// decodeStrict decodes b into v, refusing unknown fields and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after attributes")
	}
	return nil
}
