package topology

import (
	"bytes"
	"encoding/json"

	"github.com/gameday/gameday/mockstore"
)

// SchemaID is the $id of the format's JSON Schema.
const SchemaID = "https://github.com/gameday/gameday/scenarios/topology.schema.json"

// obj is one JSON object of the schema; encoding/json writes its keys sorted.
type obj = map[string]any

// Schema returns the JSON Schema (draft 2020-12) of the topology file
// format, made from the tables the parser reads.
// scenarios/topology.schema.json is this, written by the package's tests
// with -update. What needs the whole file (duplicate names, links to no
// service, a builtin's links, placeholders naming no link) only the parser
// knows.
func Schema() []byte {
	str := obj{"type": "string", "minLength": 1}
	common := obj{
		"name": obj{"description": "unique; \"client\" is reserved", "type": "string", "pattern": namePatternText, "maxLength": maxNameLen,
			"not": obj{"const": Client}},
		"args": obj{"description": "arguments; may hold placeholders: {port}, {addr}, {dir}, {link.SERVICE}", "type": []string{"array", "null"},
			"items": obj{"type": []string{"string", "number", "boolean"}}},
		"env": obj{"description": "environment variables; values may hold placeholders", "type": "object",
			"propertyNames":        obj{"pattern": envPattern.String()},
			"additionalProperties": obj{"type": []string{"string", "number", "boolean"}}},
		"health": obj{"$ref": "#/$defs/health"},
	}
	service := func(kind Kind, doc string, required []string, extra obj) obj {
		props := obj{"kind": obj{"const": string(kind)}}
		for _, f := range serviceFields[kind] {
			if c, ok := common[f]; ok {
				props[f] = c
			}
		}
		for k, v := range extra {
			props[k] = v
		}
		return obj{"title": string(kind), "description": doc, "type": "object", "additionalProperties": false,
			"required": required, "properties": props}
	}
	s := obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "gameday topology",
		"description":          "The system under test: its services and the links between them, each link a Toxiproxy proxy.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"services", "links"},
		"properties": obj{
			"name":        obj{"type": "string", "pattern": namePatternText, "maxLength": maxNameLen},
			"description": obj{"type": "string"},
			"services":    obj{"type": "array", "minItems": 1, "items": obj{"$ref": "#/$defs/service"}},
			"links":       obj{"type": "array", "minItems": 1, "items": obj{"$ref": "#/$defs/link"}},
		},
		"$defs": obj{
			"service": obj{"oneOf": []any{
				service(KindBuiltin, "a storefront service, run by gameday", []string{"name", "kind"},
					obj{"builtin": obj{"description": "the storefront service to run; default: name", "enum": mockstore.Services}}),
				service(KindProcess, "a program on this host (inproc runtime)", []string{"name", "kind", "command", "health"},
					obj{"command": str, "dir": obj{"description": "working directory, relative to the topology file", "type": "string", "minLength": 1}}),
				service(KindImage, "a container from a local image, never pulled (docker runtime)", []string{"name", "kind", "image", "health"},
					obj{"image": str}),
			}},
			"health": obj{
				"description": "how gameday knows the service is up: an HTTP GET of a path answered 2xx, or a TCP connection",
				"type":        "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
				"properties": obj{
					"http": obj{"type": "string", "pattern": "^/"},
					"tcp":  obj{"const": true},
				},
			},
			"link": obj{
				"type": "object", "additionalProperties": false, "required": linkFields,
				"properties": obj{
					"from": obj{"description": "client (where the load enters) or a service", "type": "string", "minLength": 1},
					"to":   obj{"description": "a service", "type": "string", "minLength": 1, "not": obj{"const": Client}},
				},
			},
		},
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		panic(err) // only maps, slices, strings and numbers: cannot happen
	}
	return out.Bytes()
}
