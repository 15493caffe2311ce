package fault

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Down is the fault type of a link that is down. It is not a toxic: the
// proxy is disabled (Client.SetEnabled), so connecting to it is refused and
// open connections are closed.
const Down = "down"

// Stream names, as Toxiproxy spells them. Upstream is client→server data
// (requests), Downstream is server→client data (responses).
const (
	Upstream   = "upstream"
	Downstream = "downstream"
)

// Kind is the JSON type of a toxic attribute.
type Kind string

// Attribute kinds. An int attribute must be an integral JSON number.
const (
	KindInt    Kind = "int"
	KindFloat  Kind = "float"
	KindString Kind = "string"
)

// AttributeSpec describes one attribute of a toxic type.
type AttributeSpec struct {
	Name        string
	Kind        Kind
	Unit        string  // "ms", "µs", "s", "KB/s", "bytes", or "" for none
	Default     any     // int64, float64 or string: what the toxic uses when the attribute is absent
	Min         float64 // smallest allowed value of a number
	Max         float64 // largest allowed value of a number; 0 means no upper bound
	Description string
}

// ToxicSpec describes one fault type usable through this package.
type ToxicSpec struct {
	Type        string
	Description string
	// Streams the toxic may be added on; the first is the default. Empty
	// for Down, which is not a toxic.
	Streams    []string
	Attributes []AttributeSpec
}

// Attribute returns the spec of the attribute called name.
func (s ToxicSpec) Attribute(name string) (AttributeSpec, bool) {
	for _, a := range s.Attributes {
		if a.Name == name {
			return a, true
		}
	}
	return AttributeSpec{}, false
}

var bothStreams = []string{Downstream, Upstream}

// catalogue is the source of Toxics; a test keeps it in step with
// Toxiproxy's registry and with each toxic's JSON attributes.
var catalogue = []ToxicSpec{
	{
		Type:        "latency",
		Description: "delays all data by latency ± jitter",
		Streams:     bothStreams,
		Attributes: []AttributeSpec{
			{Name: "latency", Kind: KindInt, Unit: "ms", Default: int64(0), Description: "delay added to each piece of data"},
			{Name: "jitter", Kind: KindInt, Unit: "ms", Default: int64(0), Description: "random variation, ± this much"},
		},
	},
	{
		Type:        Down,
		Description: "the link is down: the proxy is disabled, connections are refused and open ones closed (not a toxic)",
	},
	{
		Type:        "bandwidth",
		Description: "limits the data rate",
		Streams:     bothStreams,
		Attributes: []AttributeSpec{
			{Name: "rate", Kind: KindInt, Unit: "KB/s", Default: int64(0), Description: "rate limit; 0 means unlimited"},
		},
	},
	{
		Type:        "slow_close",
		Description: "delays the closing of the connection",
		Streams:     bothStreams,
		Attributes: []AttributeSpec{
			{Name: "delay", Kind: KindInt, Unit: "ms", Default: int64(0), Description: "how long the close is held back"},
		},
	},
	{
		Type:        "timeout",
		Description: "stops all data (it is dropped) and closes the connection after timeout; 0 never closes it",
		Streams:     bothStreams,
		Attributes: []AttributeSpec{
			{Name: "timeout", Kind: KindInt, Unit: "ms", Default: int64(0), Description: "when to close; 0 means stall forever"},
		},
	},
	{
		Type:        "reset_peer",
		Description: "resets the connection (TCP RST) when data arrives, after timeout",
		Streams:     bothStreams,
		Attributes: []AttributeSpec{
			{Name: "timeout", Kind: KindInt, Unit: "ms", Default: int64(0), Description: "delay before the reset"},
		},
	},
	{
		Type:        "slicer",
		Description: "slices data into small pieces, optionally delaying each",
		Streams:     bothStreams,
		Attributes: []AttributeSpec{
			{Name: "average_size", Kind: KindInt, Unit: "bytes", Default: int64(1), Min: 1, Description: "average size of a piece; must be at least 1"},
			{Name: "size_variation", Kind: KindInt, Unit: "bytes", Default: int64(0), Description: "± variation of a piece's size; less than average_size"},
			{Name: "delay", Kind: KindInt, Unit: "µs", Default: int64(0), Description: "delay before each piece"},
		},
	},
	{
		Type:        "limit_data",
		Description: "closes the connection after this many bytes",
		Streams:     bothStreams,
		Attributes: []AttributeSpec{
			{Name: "bytes", Kind: KindInt, Unit: "bytes", Default: int64(0), Description: "bytes let through before the close"},
		},
	},
	{
		Type: HTTPErrorType,
		Description: "answers a fraction of HTTP/1.1 requests with an error status; the upstream still " +
			"processes a hit request (its response is replaced)",
		Streams: []string{Downstream},
		Attributes: []AttributeSpec{
			{Name: "status", Kind: KindInt, Default: int64(503), Min: 400, Max: 599, Description: "HTTP status of the injected answer"},
			{Name: "rate", Kind: KindFloat, Default: 1.0, Min: 0, Max: 1, Description: "fraction of requests hit, drawn per request"},
			{Name: "retry_after", Kind: KindInt, Unit: "s", Default: int64(0), Description: "Retry-After header; 0 means none"},
			{Name: "body", Kind: KindString, Default: "", Description: "answer body; empty means the storefront's JSON error envelope"},
		},
	},
	{
		Type: HTTPCutType,
		Description: "cuts the connection of a fraction of HTTP/1.1 exchanges after the upstream answered: " +
			"the request was served, its response is dropped and the client's connection closed",
		Streams: []string{Downstream},
		Attributes: []AttributeSpec{
			{Name: "status", Kind: KindInt, Default: int64(0), Min: 0, Max: 599, Description: "cut only responses with this status (201: what created something); 0 means any"},
			{Name: "rate", Kind: KindFloat, Default: 1.0, Min: 0, Max: 1, Description: "fraction of those responses cut, drawn per response"},
		},
	},
	{
		Type:        HTTPLatencyType,
		Description: "delays the HTTP/1.1 requests whose path starts with path",
		Streams:     []string{Upstream},
		Attributes: []AttributeSpec{
			{Name: "path", Kind: KindString, Default: "", Description: "path prefix of the requests delayed; empty means every request"},
			{Name: "latency", Kind: KindInt, Unit: "ms", Default: int64(0), Description: "delay of a matching request"},
			{Name: "jitter", Kind: KindInt, Unit: "ms", Default: int64(0), Description: "random variation, ± this much"},
		},
	},
}

// Toxics returns the catalogue of every fault type usable here: Toxiproxy's
// built-ins that the harness uses, Down, and ours. The result is a fresh copy.
func Toxics() []ToxicSpec {
	out := make([]ToxicSpec, len(catalogue))
	for i, s := range catalogue {
		s.Streams = slices.Clone(s.Streams)
		s.Attributes = slices.Clone(s.Attributes)
		out[i] = s
	}
	return out
}

// LookupToxic returns the spec of the fault type typ.
func LookupToxic(typ string) (ToxicSpec, bool) {
	for _, s := range Toxics() {
		if s.Type == typ {
			return s, true
		}
	}
	return ToxicSpec{}, false
}

// ErrInvalidToxic is wrapped by the errors of Toxic.Validate.
var ErrInvalidToxic = errors.New("invalid toxic")

// Toxic is one toxic on a proxy, as the Toxiproxy API shows it.
type Toxic struct {
	// Name identifies the toxic on its proxy; empty means "<type>_<stream>",
	// Toxiproxy's own default.
	Name string `json:"name"`
	Type string `json:"type"`
	// Stream is Upstream or Downstream; empty means the type's first stream
	// in the catalogue.
	Stream string `json:"stream"`
	// Toxicity is the fraction of connections the toxic applies to, drawn
	// per connection (and again whenever Toxiproxy restarts the toxic on a
	// connection). Zero means 1, every connection.
	Toxicity   float32        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// withDefaults fills in the stream, name and toxicity that the zero values
// stand for.
func (t Toxic) withDefaults() Toxic {
	if t.Stream == "" {
		t.Stream = Downstream
		if s, ok := LookupToxic(t.Type); ok && len(s.Streams) > 0 {
			t.Stream = s.Streams[0]
		}
	}
	if t.Name == "" {
		t.Name = t.Type + "_" + t.Stream
	}
	if t.Toxicity == 0 {
		t.Toxicity = 1
	}
	return t
}

// Validate checks t against the catalogue: a known toxic type, an allowed
// stream, a toxicity within 0..1, and known attributes of the right kind
// within their bounds. It returns an error wrapping ErrInvalidToxic that
// names what is wrong and what is allowed.
func (t Toxic) Validate() error {
	spec, ok := LookupToxic(t.Type)
	if !ok {
		names := make([]string, 0, len(catalogue))
		for _, s := range catalogue {
			names = append(names, s.Type)
		}
		return fmt.Errorf("%w: unknown type %q (known: %s)", ErrInvalidToxic, t.Type, strings.Join(names, ", "))
	}
	if len(spec.Streams) == 0 {
		return fmt.Errorf("%w: %q is not a toxic: disable the proxy instead", ErrInvalidToxic, t.Type)
	}
	if t.Stream != "" && !slices.Contains(spec.Streams, t.Stream) {
		return fmt.Errorf("%w: %s: stream %q not allowed (allowed: %s)", ErrInvalidToxic, t.Type, t.Stream, strings.Join(spec.Streams, ", "))
	}
	if t.Toxicity < 0 || t.Toxicity > 1 || math.IsNaN(float64(t.Toxicity)) {
		return fmt.Errorf("%w: %s: toxicity %v not within 0..1", ErrInvalidToxic, t.Type, t.Toxicity)
	}
	keys := make([]string, 0, len(t.Attributes))
	for k := range t.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a, ok := spec.Attribute(k)
		if !ok {
			allowed := make([]string, 0, len(spec.Attributes))
			for _, a := range spec.Attributes {
				allowed = append(allowed, a.Name)
			}
			return fmt.Errorf("%w: %s: unknown attribute %q (allowed: %s)", ErrInvalidToxic, t.Type, k, strings.Join(allowed, ", "))
		}
		if err := a.check(t.Attributes[k]); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidToxic, t.Type, err)
		}
	}
	if t.Type == "slicer" {
		// Toxiproxy's slicer recurses forever on an average size of 0, and
		// draws rand.Intn(2*variation) past the average: keep both sane.
		avg, _ := number(attrOr(t.Attributes, "average_size", int64(1)))
		variation, _ := number(attrOr(t.Attributes, "size_variation", int64(0)))
		if variation >= avg {
			return fmt.Errorf("%w: slicer: size_variation %v must be less than average_size %v", ErrInvalidToxic, variation, avg)
		}
	}
	return nil
}

// withAttributeDefaults returns attrs with the catalogue's default of every
// attribute that is absent and has a default Toxiproxy would not give it.
func withAttributeDefaults(typ string, attrs map[string]any) map[string]any {
	out := make(map[string]any, len(attrs)+1)
	for k, v := range attrs {
		out[k] = v
	}
	// Toxiproxy's own zero value of average_size crashes the slicer.
	if _, ok := out["average_size"]; typ == "slicer" && !ok {
		out["average_size"] = int64(1)
	}
	return out
}

func attrOr(attrs map[string]any, name string, def any) any {
	if v, ok := attrs[name]; ok {
		return v
	}
	return def
}

// check reports whether v is a valid value of a.
func (a AttributeSpec) check(v any) error {
	if a.Kind == KindString {
		if _, ok := v.(string); !ok {
			return fmt.Errorf("attribute %s: want a string, got %T", a.Name, v)
		}
		return nil
	}
	f, ok := number(v)
	if !ok {
		return fmt.Errorf("attribute %s: want a number, got %T", a.Name, v)
	}
	if a.Kind == KindInt && f != math.Trunc(f) {
		return fmt.Errorf("attribute %s: want a whole number, got %v", a.Name, f)
	}
	if f < a.Min || (a.Max != 0 && f > a.Max) || math.IsNaN(f) || math.IsInf(f, 0) {
		if a.Max != 0 {
			return fmt.Errorf("attribute %s: %v not within %v..%v", a.Name, f, a.Min, a.Max)
		}
		return fmt.Errorf("attribute %s: %v is less than %v", a.Name, f, a.Min)
	}
	return nil
}

// number converts the numeric types a decoded or hand-written attribute map
// may hold.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
