// Package scenarios holds gameday's built-in scenario files, the k6 scripts
// they run and the JSON Schema of the format, embedded in the binary so that
// a built-in scenario can be named without a path. The files themselves are
// the documentation: read them, copy them, point an editor at the schema.
package scenarios

import "embed"

// FS holds the built-in scenarios (*.yaml at its root), the k6 scripts they
// run (k6/) and scenario.schema.json, the JSON Schema of the format.
//
//go:embed *.yaml scenario.schema.json k6
var FS embed.FS

// SchemaFile is the name of the JSON Schema in FS.
const SchemaFile = "scenario.schema.json"
