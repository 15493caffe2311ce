package journeyfile

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/yamlpos"
	"gopkg.in/yaml.v3"
)

// Load reads and parses the journey file at path. A file that cannot be
// read is a wrapped fs error; a file with problems is as Parse says.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read journey file: %w", err)
	}
	return Parse(path, data)
}

// Parse parses, validates and compiles the journey file in data; name is
// the file's name in messages. On failure it returns no file and every
// problem it found, each an *Error ("file:line:col: what is wrong", with
// the allowed values), sorted by position and joined with errors.Join.
func Parse(name string, data []byte) (f *File, err error) {
	defer func() {
		// A panic in a library must not take a run down with it.
		if r := recover(); r != nil {
			f, err = nil, &Error{File: name, Msg: fmt.Sprintf("invalid journey file: %v", r)}
		}
	}()
	return parse(name, data)
}

// parse is Parse without its safety net, so that the fuzz test sees every
// panic.
func parse(name string, data []byte) (*File, error) {
	p := &parser{Reader: yamlpos.Reader{File: name}}
	f := p.parseFile(data)
	if len(p.Errs) > 0 {
		return nil, join(p.Errs)
	}
	return f, nil
}

const emptyFile = "empty file: a journey file needs journeys, each with steps"

func (p *parser) parseFile(data []byte) *File {
	root, _ := p.Document(yaml.NewDecoder(bytes.NewReader(data)), emptyFile, "a file holds one set of journeys", nil)
	if root == nil {
		return nil
	}
	top, ok := p.Mapping(root, "the file")
	if !ok {
		return nil
	}
	p.onlyFields(top, "the file", fileFields)
	f := &File{Name: p.File}
	if n, ok := top.Get("think"); ok {
		f.Think, _ = p.duration(n, "think")
	}
	n, ok := top.Get("journeys")
	if !ok {
		p.ErrAt(root, "missing field journeys: the file needs at least one journey")
		return nil
	}
	items, ok := p.Seq(n, "journeys")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.ErrAt(p.Deref(n), "journeys: the file needs at least one journey")
	}
	names := map[string]int{}
	for _, it := range items {
		j := p.journey(it, f.Think)
		if j == nil {
			continue
		}
		if l, dup := names[j.Name]; dup {
			p.errAtPos(j.Line, 0, "duplicate journey name %q (first at line %d): a name is a tag and must be unique", j.Name, l)
			continue
		}
		names[j.Name] = j.Line
		f.Journeys = append(f.Journeys, j)
	}
	return f
}

func (p *parser) journey(n *yaml.Node, think time.Duration) *Journey {
	m, ok := p.Mapping(n, "a journey")
	if !ok {
		return nil
	}
	p.onlyFields(m, "a journey", journeyFields)
	j := &Journey{Weight: 1, Line: m.Node.Line}
	good := true
	if v, ok := m.Get("name"); ok {
		j.Name, good = p.name(v, "journey name")
	} else {
		p.ErrAt(m.Node, "a journey needs a name")
		good = false
	}
	what := "journey " + j.Name
	if j.Name == "" {
		what = "a journey"
	}
	if v, ok := m.Get("weight"); ok {
		w, ok := p.integer(v, what+": weight", 1, MaxWeight)
		j.Weight = int(w)
		good = good && ok
	}
	if v, ok := m.Get("think"); ok {
		var tok bool
		think, tok = p.duration(v, what+": think")
		good = good && tok
	}
	v, ok := m.Get("steps")
	if !ok {
		p.ErrAt(m.Node, "%s needs steps: a list of requests", what)
		return nil
	}
	items, ok := p.Seq(v, what+": steps")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.ErrAt(p.Deref(v), "%s: steps is empty: a journey needs at least one request", what)
		return nil
	}
	// Where each name is first captured, for the message about a name
	// used before the step that captures it.
	later := map[string]int{}
	for _, it := range items {
		for name, line := range captureLines(it) {
			if _, seen := later[name]; !seen {
				later[name] = line
			}
		}
	}
	var captured []string
	stepNames := map[string]int{}
	for _, it := range items {
		st := p.step(it, what, think, captured, later)
		if st == nil {
			good = false
			continue
		}
		if l, dup := stepNames[st.Name]; dup {
			p.errAtPos(st.Line, 0, "%s: duplicate step name %q (first at line %d): a name is a tag and must be unique in its journey; set tags.endpoint to share an endpoint's series", what, st.Name, l)
			good = false
			continue
		}
		stepNames[st.Name] = st.Line
		for _, c := range st.Captures {
			if !slices.Contains(captured, c.Name) {
				captured = append(captured, c.Name)
			}
		}
		j.Steps = append(j.Steps, st)
	}
	if !good {
		return nil
	}
	return j
}

// captureLines returns the capture names of step n and their lines,
// reporting nothing: the step reports its own problems when it is parsed.
func captureLines(n *yaml.Node) map[string]int {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "captures" || n.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		c := n.Content[i+1].Content
		for k := 0; k+1 < len(c); k += 2 {
			out[c[k].Value] = c[k].Line
		}
	}
	return out
}

func (p *parser) step(n *yaml.Node, journey string, think time.Duration, captured []string, later map[string]int) *Step {
	m, ok := p.Mapping(n, journey+": a step")
	if !ok {
		return nil
	}
	p.onlyFields(m, journey+": a step", stepFields)
	st := &Step{Method: http.MethodGet, Line: m.Node.Line, Think: think}
	good := true // each field below may clear it
	check := func(ok bool) { good = good && ok }
	what := journey + ", a step"
	if v, found := m.Get("name"); found {
		var nok bool
		st.Name, nok = p.name(v, journey+": step name")
		check(nok)
		if nok {
			what = journey + ", step " + st.Name
		}
	} else {
		p.ErrAt(m.Node, "%s: a step needs a name", journey)
		check(false)
	}
	st.Endpoint = st.Name
	if v, found := m.Get("tags"); found {
		var tok bool
		st.Endpoint, tok = p.tags(v, what, st.Name)
		check(tok)
	}
	if v, found := m.Get("method"); found {
		if s, sok := p.Scalar(v, what+": method"); sok {
			if slices.Contains(Methods, s.Value) {
				st.Method = s.Value
			} else {
				p.ErrAt(s, "%s: %s", what, yamlpos.Unknown("method", s.Value, Methods))
				check(false)
			}
		} else {
			check(false)
		}
	}
	if v, found := m.Get("timeout"); found {
		var tok bool
		st.Timeout, tok = p.positive(v, what+": timeout")
		check(tok)
	}
	if v, found := m.Get("think"); found {
		var tok bool
		st.Think, tok = p.duration(v, what+": think")
		check(tok)
	}
	if v, found := m.Get("continue_on_failure"); found {
		var bok bool
		st.ContinueOnFailure, bok = p.Boolean(v, what+": continue_on_failure")
		check(bok)
	}
	request := scope{captures: captured, later: later}
	if v, found := m.Get("url"); found {
		st.url = p.path(v, what, request)
		check(st.url != nil)
		if st.url != nil {
			st.URL = p.Deref(v).Value
		}
	} else {
		p.ErrAt(m.Node, "%s needs a url: a path starting with /", what)
		check(false)
	}
	if v, found := m.Get("headers"); found {
		var hok bool
		st.headers, hok = p.headers(v, what, request)
		check(hok)
	}
	if v, found := m.Get("body"); found && !yamlpos.IsNull(v) {
		st.body = p.body(v, what, request)
		check(st.body != nil)
	}
	answer := scope{answer: true, captures: captured, later: later}
	if v, found := m.Get("checks"); found {
		items, sok := p.Seq(v, what+": checks")
		check(sok)
		for i, it := range items {
			label := fmt.Sprintf("%s: check %d", what, i+1)
			s, tok := p.text(it, label)
			if !tok {
				check(false)
				continue
			}
			pr := p.compile(s, 0, s.Value, fmt.Sprintf("%s %q", label, s.Value), answer, true)
			check(pr != nil)
			st.Checks = append(st.Checks, Check{Source: s.Value, Line: s.Line, prog: pr})
			st.reads.Add(pr)
		}
	}
	if v, found := m.Get("captures"); found {
		cm, cok := p.Mapping(v, what+": captures")
		check(cok)
		for _, name := range cm.Keys {
			key := cm.Key(name)
			if !p.captureName(key, what) {
				check(false)
				continue
			}
			label := what + ": capture " + name
			v, _ := cm.Get(name)
			s, tok := p.text(v, label)
			if !tok {
				check(false)
				continue
			}
			pr := p.compile(s, 0, s.Value, fmt.Sprintf("%s %q", label, s.Value), answer, false)
			check(pr != nil)
			st.Captures = append(st.Captures, Capture{Name: name, Source: s.Value, Line: key.Line, prog: pr})
			st.reads.Add(pr)
		}
	}
	if !good {
		return nil
	}
	return st
}

// tags reads a step's tags: only the endpoint may be set.
func (p *parser) tags(n *yaml.Node, what, def string) (string, bool) {
	m, ok := p.Mapping(n, what+": tags")
	if !ok {
		return def, false
	}
	for _, k := range m.Keys {
		if k != "endpoint" {
			p.ErrAt(m.Key(k), "%s: tag %q cannot be set: journey is the journey's name, name the step's, status comes from the answer %s",
				what, k, yamlpos.Allowed(fieldNames(tagFields)))
			ok = false
		}
	}
	if v, found := m.Get("endpoint"); found {
		e, eok := p.name(v, what+": tags.endpoint")
		if !eok {
			return def, false
		}
		return e, ok
	}
	return def, ok
}

// path reads a step's URL: a path relative to the target.
func (p *parser) path(n *yaml.Node, what string, sc scope) *template {
	s, ok := p.text(n, what+": url")
	if !ok {
		return nil
	}
	switch v := s.Value; {
	case strings.HasPrefix(v, "//") || strings.Contains(strings.SplitN(v, "/", 2)[0], ":"):
		p.ErrAt(s, "%s: url %q is absolute: write the path only, like /api/items (it is sent to the load's target)", what, v)
		return nil
	case !strings.HasPrefix(v, "/"):
		p.ErrAt(s, "%s: url %q must start with /: it is a path relative to the load's target", what, v)
		return nil
	}
	t := p.template(s, what+": url", sc, true)
	if t == nil {
		return nil
	}
	var sample strings.Builder // the URL with a stand-in for each interpolation
	for _, pt := range t.parts {
		if pt.prog != nil {
			sample.WriteString("x")
		} else {
			sample.WriteString(pt.lit)
		}
	}
	if _, err := url.Parse("http://target" + sample.String()); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		p.ErrAt(s, "%s: url %q: %v", what, s.Value, err)
		return nil
	}
	return t
}

// headers reads a step's request headers.
func (p *parser) headers(n *yaml.Node, what string, sc scope) ([]header, bool) {
	m, ok := p.Mapping(n, what+": headers")
	if !ok {
		return nil, false
	}
	var hs []header
	seen := map[string]int{}
	for _, k := range m.Keys {
		key := m.Key(k)
		if !headerNameRe.MatchString(k) {
			p.ErrAt(key, "%s: %q is not a header name: use letters, digits and - only", what, k)
			ok = false
			continue
		}
		canon := http.CanonicalHeaderKey(k)
		if l, dup := seen[canon]; dup {
			p.ErrAt(key, "%s: header %s is set twice (first at line %d)", what, canon, l)
			ok = false
			continue
		}
		seen[canon] = key.Line
		label := what + ": header " + canon
		v, _ := m.Get(k)
		s, tok := p.text(v, label)
		if !tok {
			ok = false
			continue
		}
		if strings.ContainsAny(s.Value, "\r\n") {
			p.ErrAt(s, "%s: a header value must be one line", label)
			ok = false
			continue
		}
		t := p.template(s, label, sc, false)
		if t == nil {
			ok = false
			continue
		}
		hs = append(hs, header{name: canon, value: t})
	}
	return hs, ok
}

// captureName reports whether the key of a capture is a name expressions
// can use, reporting why not.
func (p *parser) captureName(key *yaml.Node, what string) bool {
	name := key.Value
	switch {
	case !identRe.MatchString(name):
		p.ErrAt(key, "%s: capture name %q: use letters, digits and _, not starting with a digit (expressions name it)", what, name)
		return false
	case slices.Contains(answerNames, name) || slices.Contains(iterationNames, name):
		p.ErrAt(key, "%s: capture name %q shadows a name every expression sees %s", what, name,
			"(taken: "+strings.Join(slices.Concat(answerNames, iterationNames), ", ")+")")
		return false
	case slices.Contains(reservedNames(), name):
		p.ErrAt(key, "%s: capture name %q is a word of the expression language (a keyword or built-in function): choose another", what, name)
		return false
	}
	return true
}

// CheckTimeouts returns, as *Error values joined, every step whose timeout
// is longer than limit, the load's per-request timeout: the load would cut
// such a request at limit. It returns nil when every step fits.
func (f *File) CheckTimeouts(limit time.Duration) error {
	var errs []*Error
	for _, j := range f.Journeys {
		for _, st := range j.Steps {
			if st.Timeout > limit {
				errs = append(errs, &Error{File: f.Name, Line: st.Line,
					Msg: fmt.Sprintf("journey %s, step %s: timeout %s is longer than the load's per-request timeout %s", j.Name, st.Name, st.Timeout, limit)})
			}
		}
	}
	return join(errs)
}
