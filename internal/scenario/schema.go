package scenario

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gameday/gameday/internal/topology"
	"github.com/gameday/gameday/mockstore"
)

// SchemaID is the $id of the format's JSON Schema.
const SchemaID = "https://github.com/gameday/gameday/scenarios/scenario.schema.json"

// Patterns of the schema, matching what the parser reads.
const (
	durationPattern = `(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+`
	numberPattern   = `\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?`
	opPattern       = `\s*(>=|<=|==|>|<)\s*`
	namePattern     = `^[A-Za-z0-9_][A-Za-z0-9._-]*$`
	servicePattern  = `^[a-z][a-z0-9_-]*$`
	linkPattern     = `^[a-z][a-z0-9_-]*->[a-z][a-z0-9_-]*$`
	topologyPattern = `^([a-z][a-z0-9_-]*|.+\.ya?ml)$`
)

// obj is one JSON object of the schema; encoding/json writes its keys sorted.
type obj = map[string]any

// Schema returns the JSON Schema (draft 2020-12) of the scenario format,
// made from the same tables the parser reads. scenarios/scenario.schema.json
// is this, written by the scenario package's tests with -update. The schema
// says what a file may hold; what depends on the timeline (a fault outside
// the run, overlapping down faults, an empty window) only the parser knows.
func Schema() []byte {
	defs := obj{
		"duration": obj{
			"description": "a duration with a unit (ms, s, m, h), like 15s or 400ms; or 0",
			"anyOf": []any{
				obj{"type": "string", "pattern": `^\+?(0|` + durationPattern + `)$`},
				obj{"const": 0},
			},
		},
		"positiveDuration": obj{
			"description": "a duration with a unit (ms, s, m, h) greater than 0, like 15s or 400ms",
			"type":        "string",
			"pattern":     `^\+?` + durationPattern + `$`,
			"not":         obj{"pattern": `^\+?(([0]+(\.[0]*)?|\.[0]+)(ns|us|µs|μs|ms|s|m|h))+$`},
		},
		"seconds": obj{
			"description": "whole seconds: a number, or a duration like 30s",
			"anyOf": []any{
				obj{"type": "integer", "minimum": 0, "maximum": int64(MaxDuration / time.Second)},
				obj{"type": "string", "pattern": `^\+?(0|` + durationPattern + `)$`},
			},
		},
		"toxicity": obj{"description": "share of connections affected", "type": "number", "minimum": 0, "maximum": 1},
		"flap": obj{
			"description":          "toggles the fault during its span: on, then off, then on again",
			"type":                 "object",
			"additionalProperties": false,
			"required":             []string{"on", "off"},
			"properties": obj{
				"on":  ref("positiveDuration"),
				"off": ref("positiveDuration"),
			},
		},
		"load":  loadSchema(),
		"fault": faultSchema(),
		"check": checkSchema(),
	}
	for _, t := range toxics {
		if !t.Proxy {
			defs["step_"+t.Name] = stepSchema(t)
		}
	}
	features := featureNames()
	s := obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "gameday scenario",
		"description":          "A gameday scenario: what it rehearses, the load, a timeline of faults, and the checks that judge the run.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"load", "checks"},
		"properties": obj{
			"name":        obj{"description": "the scenario's name; default: the file's base name", "type": "string", "pattern": namePattern},
			"description": obj{"description": "what the scenario rehearses", "type": "string"},
			"guards": obj{
				"description": "the storefront's defences (mockstore features) this scenario proves",
				"type":        []string{"array", "null"},
				"uniqueItems": true,
				"items":       obj{"enum": features},
			},
			"seed": obj{"description": fmt.Sprintf("seed of the run; default %d", DefaultSeed), "type": "integer", "minimum": 0},
			"topology": obj{"description": "the system the scenario runs on: a built-in topology's name or the path of a topology file (.yaml), relative to the scenario; default " + topology.Storefront,
				"type": "string", "pattern": topologyPattern, "examples": []string{topology.Storefront}},
			"storefront": obj{
				"description":          "the storefront's own service levels for this run; default: its defaults",
				"type":                 "object",
				"additionalProperties": false,
				"properties": obj{
					"refund_sla":    withDoc(ref("positiveDuration"), "how soon a charged failed order must be refunded (the outbox keeps it, the judge holds it to it); default 10s"),
					"pending_bound": withDoc(ref("positiveDuration"), "how long an order may stay payment_pending before it fails; default 30s"),
					"otp_lifetime":  withDoc(ref("positiveDuration"), "how long a login code lives from its issue (auth keeps it, the judge holds it to it); 1s to 5m, default 5m"),
				},
			},
			"load":   ref("load"),
			"faults": obj{"description": "the fault timeline; offsets count from the load's start", "type": []string{"array", "null"}, "items": ref("fault")},
			"checks": obj{"description": "what the judge decides", "type": "array", "minItems": 1, "items": ref("check")},
		},
		"$defs": defs,
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err) // only maps, slices, strings and numbers: cannot happen
	}
	return append(out, '\n')
}

func ref(name string) obj { return obj{"$ref": "#/$defs/" + name} }

func loadSchema() obj {
	return obj{
		"description":          "the shoppers' traffic",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"duration"},
		"properties": obj{
			"journeys": obj{"description": "what the virtual users do: " + DefaultJourneys + " (the storefront's shoppers; the default) or a journey file (.yaml) relative to the scenario", "type": "string", "pattern": `^(` + DefaultJourneys + `|.+\.ya?ml)$`},
			"shoppers": obj{"description": fmt.Sprintf("seeded shoppers; default %d", DefaultShoppers), "type": "integer", "minimum": 1},
			"rate": obj{
				"description": "iterations started per unit of time, like 15/s, 900/m or 10/500ms; default " + DefaultRate.String(),
				"type":        "string",
				"pattern":     `^\s*\+?0*[1-9][0-9]*\s*/\s*(s|m|h|` + durationPattern + `)\s*$`,
				"examples":    []string{"15/s"},
			},
			"duration": withDoc(ref("positiveDuration"), "how long the load runs"),
			"vus":      obj{"description": "virtual users; default: the load package decides", "type": "integer", "minimum": 1},
			"env": obj{
				"description":          "variables of the storefront's journeys, NAME: value: " + strings.Join(StorefrontEnv, ", "),
				"type":                 "object",
				"propertyNames":        obj{"enum": StorefrontEnv},
				"additionalProperties": obj{"type": []string{"string", "number", "boolean"}},
			},
		},
	}
}

func withDoc(o obj, doc string) obj {
	o["description"] = doc
	return o
}

func faultSchema() obj {
	var variants []any
	links := linkNames()
	for _, t := range toxics {
		props := obj{
			"link": obj{"description": "a link of the scenario's topology (the storefront's are the examples)", "type": "string",
				"pattern": linkPattern, "examples": links},
			"toxic":    obj{"description": t.Doc, "const": t.Name},
			"start":    withDoc(ref("duration"), "offset from the load's start"),
			"phase":    phaseSchema(),
			"duration": withDoc(ref("positiveDuration"), "how long the fault lasts; it must end within the load"),
			"flap":     ref("flap"),
		}
		required := []string{"link", "toxic", "start", "duration"}
		if !t.Proxy {
			props["stream"] = obj{"description": "the direction of data affected; default " + t.Streams[0], "enum": t.Streams}
			props["toxicity"] = ref("toxicity")
			props["steps"] = obj{"description": "changes during the fault's span", "type": []string{"array", "null"}, "items": ref("step_" + t.Name)}
			for _, a := range t.Attrs {
				props[a.Name] = attrSchema(a)
				if a.Required {
					required = append(required, a.Name)
				}
			}
		}
		variants = append(variants, obj{
			"title":                "toxic " + t.Name,
			"type":                 "object",
			"additionalProperties": false,
			"required":             required,
			"properties":           props,
		})
	}
	variants = append(variants,
		obj{
			"title":                "maintenance",
			"description":          "the gateway's maintenance switch",
			"type":                 "object",
			"additionalProperties": false,
			"required":             []string{"maintenance", "start", "duration"},
			"properties": obj{
				"maintenance": obj{"anyOf": []any{
					obj{"type": "null"},
					obj{
						"type":                 "object",
						"additionalProperties": false,
						"properties": obj{
							"retry_after": withDoc(ref("seconds"), fmt.Sprintf("Retry-After told to shoppers, more than 0; default %d", DefaultMaintenanceRetryAfter)),
							"message":     obj{"description": "shown to shoppers", "type": "string", "minLength": 1},
						},
					},
				}},
				"start":    ref("duration"),
				"phase":    phaseSchema(),
				"duration": ref("positiveDuration"),
			},
		},
		crashSchema("crash", "a service killed or restarted (in-process, the service runs as a child process)",
			[]string{CrashKill, CrashRestart}, false),
		crashSchema("crash stop", "a service stopped, for duration or until the end (in-process, the service runs as a child process)",
			[]string{CrashStop}, true),
	)
	return obj{"oneOf": variants}
}

// crashSchema is a crash fault with one of actions; only a stop has a
// duration.
func crashSchema(title, doc string, actions []string, withDuration bool) obj {
	props := obj{
		"service": obj{"description": "a service of the scenario's topology (the storefront's are the examples)", "type": "string",
			"pattern": servicePattern, "examples": mockstore.Services},
		"action": obj{"enum": actions},
		"at":     withDoc(ref("duration"), "offset from the load's start"),
		"phase":  phaseSchema(),
	}
	if withDuration {
		props["duration"] = withDoc(ref("positiveDuration"), "how long the service stays stopped; default: until the end")
	}
	return obj{
		"title":                title,
		"description":          doc,
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"service", "action", "at"},
		"properties":           props,
	}
}

func attrSchema(a AttrSpec) obj {
	var o obj
	switch a.Type {
	case AttrDuration:
		o = ref("duration")
		if a.Unit == "s" {
			o = ref("seconds")
		}
	case AttrInt:
		o = obj{"type": "integer", "minimum": a.Min}
		if a.Max > 0 {
			o["maximum"] = a.Max
		}
	case AttrFloat:
		o = obj{"type": "number", "minimum": a.Min}
		if a.Max > 0 {
			o["maximum"] = a.Max
		}
	default:
		o = obj{"type": "string"}
	}
	doc := a.Doc
	if a.Unit != "" && a.Type != AttrDuration {
		doc += " (" + a.Unit + ")"
	}
	if a.Required {
		doc += "; required"
	} else {
		doc += fmt.Sprintf("; default %v", a.Default)
	}
	o["description"] = doc
	return o
}

func stepSchema(t ToxicSpec) obj {
	props := obj{
		"at":       withDoc(ref("duration"), "offset from the fault's start"),
		"toxicity": ref("toxicity"),
	}
	for _, a := range t.Attrs {
		o := attrSchema(a)
		delete(o, "description")
		o["description"] = a.Doc
		props[a.Name] = o
	}
	return obj{
		"description":          "a change of the " + t.Name + " fault's settings; what it leaves out keeps its value",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"at"},
		"minProperties":        2,
		"properties":           props,
	}
}

func checkSchema() obj {
	common := func(props obj, kind CheckKind, subject string) obj {
		props["name"] = obj{"description": "the check's label, unique in the scenario", "type": "string", "minLength": 1}
		props["abort"] = obj{"description": "a failure stops the run (metric checks are judged live)", "type": "boolean"}
		least, judges := Least(kind, subject)
		desc := fmt.Sprintf("the least %s the check must have judged: with fewer the verdict is unknown (unless offences already failed it); default %d", judges, least)
		if kind == CheckExperience {
			desc = "the least items the check must have judged: with fewer the verdict is unknown (unless offences already failed it); default per experience: " + experienceLeasts()
		}
		props["min_samples"] = obj{"description": desc, "type": "integer", "minimum": 0}
		return props
	}
	var variants []any
	for _, inv := range invariants {
		props := common(obj{"invariant": obj{"description": inv.Doc, "const": inv.Name}}, CheckInvariant, inv.Name)
		for _, k := range inv.Params {
			props[k] = paramSchema(k)
		}
		variants = append(variants, obj{
			"title":                "invariant " + inv.Name,
			"type":                 "object",
			"additionalProperties": false,
			"required":             []string{"invariant"},
			"properties":           props,
		})
	}
	variants = append(variants, obj{
		"title":                "experience",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"experience"},
		"properties": common(obj{
			"experience": obj{"description": "what shoppers were told", "enum": experienceNames()},
			"max":        obj{"description": "offending answers allowed; default 0", "type": "integer", "minimum": 0},
		}, CheckExperience, ""),
	})
	for _, kind := range []string{KindCounter, KindRate, KindTrend} {
		variants = append(variants, metricSchema(kind, common))
	}
	variants = append(variants, obj{
		"title":                "recovery",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"recovery", "within"},
		"properties": common(obj{
			"recovery": obj{"description": "the journey that must recover", "type": "string", "minLength": 1, "examples": []string{"checkout"}},
			"within":   withDoc(ref("positiveDuration"), "time allowed after the last fault ends"),
		}, CheckRecovery, ""),
	})
	variants = append(variants, probeSchema(ProbeHTTP, common), probeSchema(ProbeSQL, common))
	return obj{"oneOf": variants}
}

// probeSchema is the probe check of kind.
func probeSchema(kind string, common func(obj, CheckKind, string) obj) obj {
	props := common(obj{
		"probe":   obj{"const": kind},
		"when":    obj{"description": "run once: before the load, or after it (when the audits are read)", "enum": probeWhens},
		"every":   withDoc(ref("positiveDuration"), fmt.Sprintf("run every period while the load runs (at least %s)", fmtDur(MinProbeEvery))),
		"timeout": withDoc(ref("positiveDuration"), fmt.Sprintf("bound of one run; default %s (or every, when shorter)", fmtDur(DefaultProbeTimeout))),
		"expect": obj{"description": "an expression (expr-lang) over the answer that must be true at every run; names: " + strings.Join(probeNameList(kind), ", "),
			"type": "string", "minLength": 1, "examples": []string{map[string]string{ProbeHTTP: "status == 200", ProbeSQL: "len(rows) > 0"}[kind]}},
		"max":      obj{"description": "failed runs allowed; default 0", "type": "integer", "minimum": 0},
		"min_runs": obj{"description": "fewer runs: the verdict is unknown; default 1, or half the runs the load has room for with every", "type": "integer", "minimum": 1},
	}, CheckProbe, kind)
	required := []string{"probe", "expect"}
	doc := "an SQL query on a SQLite file of the run's stores, opened read-only"
	if kind == ProbeHTTP {
		doc = "an HTTP GET"
		props["url"] = obj{"description": "the URL; placeholders: " + placeholderList(), "type": "string", "minLength": 1,
			"examples": []string{"{gateway}/healthz"}}
		required = append(required, "url")
	} else {
		props["db"] = obj{"description": "the SQLite file, relative to the run's store directory", "type": "string", "minLength": 1, "examples": []string{"wallet.db"}}
		props["query"] = obj{"description": "the query, which reads: it starts with " + strings.Join(sqlVerbs, ", "), "type": "string", "minLength": 1,
			"examples": []string{"SELECT count(*) AS n FROM ledger"}}
		required = append(required, "db", "query")
	}
	return obj{
		"title":                "probe " + kind,
		"description":          doc,
		"type":                 "object",
		"additionalProperties": false,
		"required":             required,
		"properties":           props,
		"oneOf":                []any{obj{"required": []string{"when"}}, obj{"required": []string{"every"}}},
	}
}

func paramSchema(k string) obj {
	switch k {
	case ParamAfterFaults:
		return withDoc(ref("duration"), "judge the state this long after the last fault ended")
	case ParamSLA:
		return withDoc(ref("positiveDuration"), "refund deadline after an order failed")
	}
	return withDoc(ref("positiveDuration"), "how long an order may stay pending")
}

// metricSchema is the metric check on the metrics of one kind.
func metricSchema(kind string, common func(obj, CheckKind, string) obj) obj {
	var names, examples []string
	for _, m := range metrics {
		if m.Kind == kind {
			names = append(names, m.Name)
			examples = append(examples, m.Name)
		}
	}
	var free []string
	for _, t := range tags {
		if t != "status" {
			free = append(free, t)
		}
	}
	tag := `\s*((` + strings.Join(free, "|") + `)\s*:\s*[^,{}\s][^,{}]*|status\s*:\s*(` + strings.Join(statusValues, "|") + `)\s*)`
	selector := `^\s*(` + strings.Join(names, "|") + `)\s*(\{` + tag + `(,` + tag + `)*\})?\s*$`
	examples = append(examples, names[0]+"{journey:checkout}")
	props := common(obj{
		"metric": obj{
			"description": kind + " metric and tags, like journey_success{journey:checkout}",
			"type":        "string",
			"pattern":     selector,
			"examples":    examples,
		},
		"window": obj{
			"description": "the span of the load looked at; default " + WindowRun,
			"anyOf": []any{
				obj{"enum": windows},
				obj{
					"type":                 "object",
					"additionalProperties": false,
					"minProperties":        1,
					"properties": obj{
						"from": ref("duration"),
						"to":   ref("positiveDuration"),
					},
				},
			},
		},
	}, CheckMetric, "")
	var oneStat []any
	for _, st := range StatsFor(kind) {
		props[st] = comparisonSchema(kind, st)
		oneStat = append(oneStat, obj{"required": []string{st}})
	}
	return obj{
		"title":                kind + " metric",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"metric"},
		"properties":           props,
		"oneOf":                oneStat,
	}
}

// comparisonSchema is the comparison of statistic st of a metric of kind.
// Every trend is a time trend (Unit "ms"): TestSchemaTables holds it so.
func comparisonSchema(kind, st string) obj {
	switch {
	case kind == KindTrend && st != StatCount:
		return obj{"description": st + ", compared with a duration", "type": "string",
			"pattern": `^` + opPattern + durationPattern + `\s*$`, "examples": []string{"<= 400ms"}}
	case st == StatRate:
		return obj{"description": "share of the samples, compared with a fraction (0..1) or a percentage", "type": "string",
			"pattern": `^` + opPattern + numberPattern + `(\s*%)?\s*$`, "examples": []string{">= 0.6"}}
	}
	return obj{"description": st + ", compared with a number", "type": "string",
		"pattern": `^` + opPattern + numberPattern + `\s*$`, "examples": []string{"== 0"}}
}

func phaseSchema() obj {
	return obj{"description": "what shoppers saw while this fault was on, in their words; reports name the phase after it", "type": "string"}
}

// experienceLeasts lists each experience's least: "no_false_not_registered 5
// login requests, ...".
func experienceLeasts() string {
	parts := make([]string, len(experiences))
	for i, e := range experiences {
		parts[i] = fmt.Sprintf("%s %d %s", e.Name, e.Least, e.Judges)
	}
	return strings.Join(parts, ", ")
}
