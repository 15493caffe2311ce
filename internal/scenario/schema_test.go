package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/scenarios"
)

const schemaPath = "../../scenarios/scenario.schema.json"

// TestSchemaFile keeps scenarios/scenario.schema.json equal to Schema(),
// which is made from the parser's tables; -update rewrites it.
func TestSchemaFile(t *testing.T) {
	want := Schema()
	if *update {
		if err := os.WriteFile(schemaPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, schemaPath); !bytes.Equal(got, want) {
		t.Errorf("%s is not Schema(): run go test ./internal/scenario -run TestSchemaFile -update", schemaPath)
	}
	embedded, err := fs.ReadFile(scenarios.FS, scenarios.SchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(embedded, want) {
		t.Errorf("the embedded schema is not Schema(): rebuild")
	}
}

// jsonSchema is the committed schema, decoded, with a small validator for
// the keywords it uses.
type jsonSchema struct {
	root map[string]any
}

func readSchema(tb testing.TB) jsonSchema {
	tb.Helper()
	var root map[string]any
	if err := json.Unmarshal(readFile(tb, schemaPath), &root); err != nil {
		tb.Fatalf("%s: %v", schemaPath, err)
	}
	return jsonSchema{root: root}
}

func (s jsonSchema) def(name string) map[string]any {
	return s.root["$defs"].(map[string]any)[name].(map[string]any)
}

// variants returns the oneOf alternatives of the definition name by title.
func (s jsonSchema) variants(name string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, v := range s.def(name)["oneOf"].([]any) {
		m := v.(map[string]any)
		out[m["title"].(string)] = m
	}
	return out
}

// validate returns the first problem of doc against the schema, or "".
func (s jsonSchema) validate(doc any) string { return s.check(s.root, doc, "") }

var knownKeywords = []string{
	"$schema", "$id", "$defs", "$ref", "title", "description", "examples",
	"type", "enum", "const", "pattern", "minimum", "maximum", "minLength",
	"minItems", "uniqueItems", "items", "minProperties", "required",
	"properties", "additionalProperties", "propertyNames", "oneOf", "anyOf", "not",
}

func (s jsonSchema) check(sch map[string]any, v any, at string) string {
	for k := range sch {
		if !slices.Contains(knownKeywords, k) {
			return fmt.Sprintf("%s: the test's validator does not know keyword %s", at, k)
		}
	}
	if r, ok := sch["$ref"].(string); ok {
		if p := s.check(s.def(strings.TrimPrefix(r, "#/$defs/")), v, at); p != "" {
			return p
		}
	}
	if t, ok := sch["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
			return fmt.Sprintf("%s: %v is not of type %v", at, v, types)
		}
	}
	if e, ok := sch["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return equal(x, v) }) {
		return fmt.Sprintf("%s: %v is not one of %v", at, v, e)
	}
	if c, ok := sch["const"]; ok && !equal(c, v) {
		return fmt.Sprintf("%s: %v is not %v", at, v, c)
	}
	if str, ok := v.(string); ok {
		if p, ok := sch["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return fmt.Sprintf("%s: %q does not match %s", at, str, p)
		}
		if n, ok := sch["minLength"].(float64); ok && float64(len(str)) < n {
			return fmt.Sprintf("%s: %q is too short", at, str)
		}
	}
	if f, ok := number(v); ok {
		if n, ok := sch["minimum"].(float64); ok && f < n {
			return fmt.Sprintf("%s: %v is less than %v", at, f, n)
		}
		if n, ok := sch["maximum"].(float64); ok && f > n {
			return fmt.Sprintf("%s: %v is more than %v", at, f, n)
		}
	}
	if list, ok := v.([]any); ok {
		if n, ok := sch["minItems"].(float64); ok && float64(len(list)) < n {
			return fmt.Sprintf("%s: fewer than %v items", at, n)
		}
		if sch["uniqueItems"] == true {
			for i := range list {
				for j := range i {
					if equal(list[i], list[j]) {
						return fmt.Sprintf("%s: item %d repeats item %d", at, i, j)
					}
				}
			}
		}
		if items, ok := sch["items"].(map[string]any); ok {
			for i, x := range list {
				if p := s.check(items, x, fmt.Sprintf("%s[%d]", at, i)); p != "" {
					return p
				}
			}
		}
	}
	if m, ok := v.(map[string]any); ok {
		if n, ok := sch["minProperties"].(float64); ok && float64(len(m)) < n {
			return fmt.Sprintf("%s: fewer than %v fields", at, n)
		}
		if req, ok := sch["required"].([]any); ok {
			for _, k := range req {
				if _, ok := m[k.(string)]; !ok {
					return fmt.Sprintf("%s: missing %s", at, k)
				}
			}
		}
		props, _ := sch["properties"].(map[string]any)
		names, _ := sch["propertyNames"].(map[string]any)
		for _, k := range slices.Sorted(mapKeys(m)) {
			if names != nil {
				if problem := s.check(names, k, at+" (field name "+k+")"); problem != "" {
					return problem
				}
			}
			if p, ok := props[k].(map[string]any); ok {
				if problem := s.check(p, m[k], at+"/"+k); problem != "" {
					return problem
				}
			} else if extra, ok := sch["additionalProperties"].(map[string]any); ok {
				if problem := s.check(extra, m[k], at+"/"+k); problem != "" {
					return problem
				}
			} else if sch["additionalProperties"] == false {
				return fmt.Sprintf("%s: field %s is not allowed", at, k)
			}
		}
	}
	if alts, ok := sch["oneOf"].([]any); ok {
		var passed int
		var problems []string
		for _, a := range alts {
			if p := s.check(a.(map[string]any), v, at); p == "" {
				passed++
			} else {
				problems = append(problems, p)
			}
		}
		if passed != 1 {
			return fmt.Sprintf("%s: %d of oneOf match (%s)", at, passed, strings.Join(problems, "; "))
		}
	}
	if alts, ok := sch["anyOf"].([]any); ok {
		if !slices.ContainsFunc(alts, func(a any) bool { return s.check(a.(map[string]any), v, at) == "" }) {
			return fmt.Sprintf("%s: no anyOf matches %v", at, v)
		}
	}
	if not, ok := sch["not"].(map[string]any); ok && s.check(not, v, at) == "" {
		return fmt.Sprintf("%s: %v matches a not", at, v)
	}
	return ""
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := number(v)
		return ok
	case "integer":
		f, ok := number(v)
		return ok && f == math.Trunc(f)
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func equal(a, b any) bool {
	fa, oka := number(a)
	fb, okb := number(b)
	if oka || okb {
		return oka && okb && fa == fb
	}
	return a == b
}

// yamlValue decodes a YAML document into what a JSON Schema validator sees:
// maps with string keys, lists, strings, numbers, booleans and nil. It
// reports false when src is not a single such document.
func yamlValue(src string) (v any, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	var out any
	if err := yaml.Unmarshal([]byte(src), &out); err != nil {
		return nil, false
	}
	return normalise(out)
}

func normalise(v any) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			n, ok := normalise(x)
			if !ok {
				return nil, false
			}
			v[k] = n
		}
		return v, true
	case map[any]any:
		return nil, false // a key that is not a string: no JSON for it
	case []any:
		for i, x := range v {
			n, ok := normalise(x)
			if !ok {
				return nil, false
			}
			v[i] = n
		}
		return v, true
	}
	return v, true
}

// TestSchemaValidates holds that every valid file of the repository and of
// testdata is valid by the schema too.
func TestSchemaValidates(t *testing.T) {
	schema := readSchema(t)
	files := map[string][]byte{"testdata/full.yaml": readFile(t, "testdata/full.yaml")}
	for _, name := range Builtins() {
		src, err := BuiltinSource(name)
		if err != nil {
			t.Fatal(err)
		}
		files[src.File] = src.Data
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) {
			doc, ok := yamlValue(string(files[name]))
			if !ok {
				t.Fatal("not a YAML document")
			}
			if p := schema.validate(doc); p != "" {
				t.Errorf("the schema refuses it: %s", p)
			}
		})
	}
}

// TestSchemaTables holds the schema to the parser's tables: every field,
// toxic, attribute, stream, metric, tag, window, invariant, experience,
// feature and link the parser knows is in it with the same allowed values.
func TestSchemaTables(t *testing.T) {
	schema := readSchema(t)
	strs := func(v any) []string {
		var out []string
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	keys := func(m map[string]any) []string { return slices.Sorted(mapKeys(m)) }
	sorted := func(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }
	same := func(t *testing.T, what string, got, want []string) {
		t.Helper()
		if !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("%s: schema has %v, parser %v", what, sorted(got), sorted(want))
		}
	}
	props := func(m map[string]any) map[string]any { return m["properties"].(map[string]any) }

	t.Run("top and load", func(t *testing.T) {
		same(t, "top fields", keys(props(schema.root)), topFields)
		same(t, "load fields", keys(props(schema.def("load"))), loadFields)
		same(t, "guards", strs(props(schema.root)["guards"].(map[string]any)["items"].(map[string]any)["enum"]), featureNames())
		same(t, "flap fields", keys(props(schema.def("flap"))), flapFields)
	})
	faults := schema.variants("fault")
	t.Run("toxics", func(t *testing.T) {
		var names []string
		for _, tox := range toxics {
			names = append(names, "toxic "+tox.Name)
			v, ok := faults["toxic "+tox.Name]
			if !ok {
				t.Errorf("toxic %s is not in the schema", tox.Name)
				continue
			}
			p := props(v)
			same(t, tox.Name+" links", strs(p["link"].(map[string]any)["examples"]), linkNames())
			want := slices.Concat(toxicFaultFields, tox.attrNames())
			if tox.Proxy {
				want = proxyFaultFields
			} else {
				same(t, tox.Name+" streams", strs(p["stream"].(map[string]any)["enum"]), tox.Streams)
				same(t, tox.Name+" step fields", keys(props(schema.def("step_"+tox.Name))), slices.Concat(stepFields, tox.attrNames()))
			}
			same(t, tox.Name+" fields", keys(p), want)
			var req []string
			for _, a := range tox.Attrs {
				if a.Required {
					req = append(req, a.Name)
				}
				if tox.Proxy {
					continue
				}
				as := p[a.Name].(map[string]any)
				if lo, ok := as["minimum"]; ok && lo != a.Min {
					t.Errorf("%s.%s: minimum %v, parser %v", tox.Name, a.Name, lo, a.Min)
				}
				if hi, ok := as["maximum"]; (ok || a.Max > 0) && hi != a.Max {
					t.Errorf("%s.%s: maximum %v, parser %v", tox.Name, a.Name, hi, a.Max)
				}
			}
			same(t, tox.Name+" required", strs(v["required"]), slices.Concat([]string{"link", "toxic", "start", "duration"}, req))
		}
		names = append(names, "maintenance", "crash", "crash stop")
		same(t, "fault variants", keys(anyMap(faults)), names)
		same(t, "maintenance fields", keys(props(faults["maintenance"])), maintFaultFields)
		same(t, "maintenance switch fields", keys(props(props(faults["maintenance"])["maintenance"].(map[string]any)["anyOf"].([]any)[1].(map[string]any))), maintFields)
		same(t, "crash stop fields", keys(props(faults["crash stop"])), crashFaultFields)
		var actions []string
		for _, title := range []string{"crash", "crash stop"} {
			same(t, "services", strs(props(faults[title])["service"].(map[string]any)["examples"]), mockstore.Services)
			actions = append(actions, strs(props(faults[title])["action"].(map[string]any)["enum"])...)
		}
		same(t, "crash actions", actions, crashActions)
	})
	checks := schema.variants("check")
	t.Run("checks", func(t *testing.T) {
		var names []string
		for _, inv := range invariants {
			names = append(names, "invariant "+inv.Name)
			v, ok := checks["invariant "+inv.Name]
			if !ok {
				t.Errorf("invariant %s is not in the schema", inv.Name)
				continue
			}
			same(t, inv.Name+" fields", keys(props(v)), slices.Concat(invariantFields, inv.Params, checkCommonFields))
		}
		exp := checks["experience"]
		same(t, "experiences", strs(props(exp)["experience"].(map[string]any)["enum"]), experienceNames())
		same(t, "experience fields", keys(props(exp)), slices.Concat(experienceFields, checkCommonFields))
		var metricNamesInSchema []string
		for _, kind := range []string{KindCounter, KindRate, KindTrend} {
			v := checks[kind+" metric"]
			names = append(names, kind+" metric")
			same(t, kind+" fields", keys(props(v)), slices.Concat(metricFields, StatsFor(kind), checkCommonFields))
			p := props(v)
			same(t, "windows", strs(p["window"].(map[string]any)["anyOf"].([]any)[0].(map[string]any)["enum"]), windows)
			re := regexp.MustCompile(p["metric"].(map[string]any)["pattern"].(string))
			for _, m := range metrics {
				if re.MatchString(m.Name) {
					metricNamesInSchema = append(metricNamesInSchema, m.Name)
					if m.Kind != kind {
						t.Errorf("metric %s (%s) matches the %s pattern", m.Name, m.Kind, kind)
					}
				}
				for _, tag := range tags {
					value := "x"
					if tag == "status" {
						value = statusValues[0]
					}
					if m.Kind == kind && !re.MatchString(m.Name+"{"+tag+":"+value+"}") {
						t.Errorf("%s pattern refuses tag %s", kind, tag)
					}
				}
				for _, v := range statusValues {
					if m.Kind == kind && !re.MatchString(m.Name+"{status:"+v+"}") {
						t.Errorf("%s pattern refuses status %s", kind, v)
					}
				}
				if m.Kind == KindTrend && m.Unit != "ms" {
					t.Errorf("trend %s is not in ms: comparisonSchema takes every trend for a time", m.Name)
				}
			}
			if re.MatchString(p["metric"].(map[string]any)["examples"].([]any)[0].(string) + "{nope:x}") {
				t.Errorf("%s pattern takes an unknown tag", kind)
			}
		}
		same(t, "metrics", metricNamesInSchema, metricNames())
		names = append(names, "experience", "recovery", "probe "+ProbeHTTP, "probe "+ProbeSQL)
		same(t, "check variants", keys(anyMap(checks)), names)
		same(t, "http probe fields", keys(props(checks["probe "+ProbeHTTP])), slices.Concat(probeFields, httpProbeFields, checkCommonFields))
		same(t, "sql probe fields", keys(props(checks["probe "+ProbeSQL])), slices.Concat(probeFields, sqlProbeFields, checkCommonFields))
		same(t, "recovery fields", keys(props(checks["recovery"])), slices.Concat(recoveryFields, checkCommonFields))
	})
}

func anyMap[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestSchemaNothingRefused builds, for every fault and check the schema
// describes and every value it enumerates there, the smallest instance the
// schema allows, and holds that the parser accepts it.
func TestSchemaNothingRefused(t *testing.T) {
	schema := readSchema(t)
	const head = "load: {duration: 60s}\n"
	const fault = "  - {link: gateway->auth, toxic: down, start: 10s, duration: 20s}\n"
	const check = "  - invariant: money_conserved\n"
	for title, v := range schema.variants("fault") {
		for i, inst := range schema.instances(v) {
			t.Run(fmt.Sprintf("%s %d", title, i), func(t *testing.T) {
				src := head + "faults:\n  - " + flow(inst) + "\nchecks:\n" + check
				schemaAndParserAgree(t, schema, src)
			})
		}
	}
	for title, v := range schema.variants("check") {
		for i, inst := range schema.instances(v) {
			t.Run(fmt.Sprintf("%s %d", title, i), func(t *testing.T) {
				src := head + "faults:\n" + fault + "checks:\n  - " + flow(inst) + "\n"
				schemaAndParserAgree(t, schema, src)
			})
		}
	}
	for _, f := range featureNames() {
		schemaAndParserAgree(t, schema, head+"guards: ["+f+"]\nchecks:\n"+check)
	}
}

func schemaAndParserAgree(tb testing.TB, schema jsonSchema, src string) {
	tb.Helper()
	doc, ok := yamlValue(src)
	if !ok {
		tb.Fatalf("not YAML:\n%s", src)
	}
	if p := schema.validate(doc); p != "" {
		tb.Fatalf("the test made an instance the schema refuses: %s\n%s", p, src)
	}
	if _, err := Parse("t.yaml", []byte(src)); err != nil {
		tb.Errorf("the schema allows what the parser refuses:\n%s\n%v", src, err)
	}
}

// flow renders a map as a YAML flow mapping.
func flow(m map[string]any) string {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b) // JSON is YAML
}

// instances returns the smallest objects the object schema v allows: its
// required fields with a sample value, once for every value of every
// enumerated field and every example.
func (s jsonSchema) instances(v map[string]any) []map[string]any {
	props := v["properties"].(map[string]any)
	req := map[string]bool{}
	for _, k := range v["required"].([]any) {
		req[k.(string)] = true
	}
	firstStat := ""
	var oneOf []string                      // fields of which an instance has exactly one
	if alts, ok := v["oneOf"].([]any); ok { // a metric's one statistic, a probe's when or every
		firstStat = alts[0].(map[string]any)["required"].([]any)[0].(string)
		req[firstStat] = true
		for _, a := range alts {
			oneOf = append(oneOf, a.(map[string]any)["required"].([]any)[0].(string))
		}
	}
	first := map[string]any{}
	for k := range req {
		first[k] = s.samples(props[k].(map[string]any))[0]
	}
	out := []map[string]any{first}
	for _, k := range slices.Sorted(mapKeys(props)) {
		samples := s.samples(props[k].(map[string]any))
		if req[k] {
			samples = samples[1:]
		}
		for _, x := range samples {
			m := cloneMap(first)
			if slices.Contains(oneOf, k) {
				delete(m, firstStat) // one statistic at a time
			}
			m[k] = x
			out = append(out, m)
		}
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// samples returns values the schema sch allows, the first the plainest.
func (s jsonSchema) samples(sch map[string]any) []any {
	if r, ok := sch["$ref"].(string); ok {
		switch r {
		case "#/$defs/duration", "#/$defs/seconds":
			return []any{"1s"}
		case "#/$defs/positiveDuration":
			return []any{"2s"}
		case "#/$defs/toxicity":
			return []any{0.5}
		case "#/$defs/flap":
			return []any{map[string]any{"on": "1s", "off": "1s"}}
		}
		if strings.HasPrefix(r, "#/$defs/step_") {
			d := s.def(strings.TrimPrefix(r, "#/$defs/"))
			var out []any
			props := d["properties"].(map[string]any)
			for _, k := range slices.Sorted(mapKeys(props)) {
				if k != "at" {
					out = append(out, map[string]any{"at": "0s", k: s.samples(props[k].(map[string]any))[0]})
				}
			}
			return out
		}
		panic("samples: no sample for " + r)
	}
	if e, ok := sch["enum"].([]any); ok {
		return e
	}
	if c, ok := sch["const"]; ok {
		return []any{c}
	}
	if ex, ok := sch["examples"].([]any); ok {
		return ex
	}
	if alts, ok := sch["anyOf"].([]any); ok {
		var out []any
		for _, a := range alts {
			if a.(map[string]any)["type"] == "null" {
				out = append(out, nil)
				continue
			}
			out = append(out, s.samples(a.(map[string]any))...)
		}
		return out
	}
	if items, ok := sch["items"].(map[string]any); ok {
		var out []any
		for _, x := range s.samples(items) {
			out = append(out, []any{x})
		}
		return out
	}
	switch sch["type"] {
	case "object":
		props := sch["properties"].(map[string]any)
		k := slices.Sorted(mapKeys(props))[0]
		return []any{map[string]any{k: s.samples(props[k].(map[string]any))[0]}}
	case "integer", "number":
		lo, _ := sch["minimum"].(float64)
		return []any{lo}
	case "boolean":
		return []any{true, false}
	case "string":
		return []any{"text"}
	}
	panic(fmt.Sprintf("samples: no sample for %v", sch))
}

// TestSchemaLoadEnv: the schema and the parser accept and refuse the same
// load.env: the storefront journeys' variables, the harness's reserved ones,
// scalar values.
func TestSchemaLoadEnv(t *testing.T) {
	schema := readSchema(t)
	for env, ok := range map[string]bool{
		"{GAMEDAY_LOGOUT: 0.4, GAMEDAY_FOOD: 1}": true,
		"{}":                                     true,
		"{my_flag: yes}":                         false,
		"{GAMEDAY_RATE: 5}":                      false,
		"{GAMEDAY_GATEWAY: 'http://x'}":          false,
		"{9lives: 1}":                            false,
		"{A-B: 1}":                               false,
		"{A: [1]}":                               false,
	} {
		src := "load: {duration: 10s, env: " + env + "}\nchecks: [{invariant: money_conserved}]\n"
		doc, yok := yamlValue(src)
		if !yok {
			t.Fatalf("not YAML:\n%s", src)
		}
		p := schema.validate(doc)
		_, err := Parse("t.yaml", []byte(src))
		if (p == "") != ok || (err == nil) != ok {
			t.Errorf("env %s: schema says %q, parser %v; want both to %s it", env, p, err, map[bool]string{true: "accept", false: "refuse"}[ok])
		}
	}
}
