// Package scenarios holds gameday's built-in scenario files and the JSON
// Schemas of the scenario and journey formats, embedded in the binary so that
// a built-in scenario can be named without a path. The files themselves are
// the documentation: read them, copy them, point an editor at the schema.
package scenarios

import "embed"

// FS holds the built-in scenarios (*.yaml at its root), the built-in
// topologies (topologies/*.yaml), scenario.schema.json,
// journeys.schema.json and topology.schema.json, the JSON Schemas of the
// scenario, journey and topology file formats, and matrix.expected.json,
// the expected resilience matrix.
//
//go:embed *.yaml topologies/*.yaml scenario.schema.json journeys.schema.json topology.schema.json matrix.expected.json
var FS embed.FS

// SchemaFile is the name of the JSON Schema in FS.
const SchemaFile = "scenario.schema.json"

// TopologySchemaFile is the name in FS of the topology format's JSON Schema.
const TopologySchemaFile = "topology.schema.json"

// ExpectedMatrixFile is the name in FS of the expected resilience matrix
// that `gameday matrix` gates on.
const ExpectedMatrixFile = "matrix.expected.json"
