// Package journeyfile is the journey file format: the virtual users of a
// load against a system of one's own (not the storefront), described in
// YAML. Load and Parse read a file, refuse bad input before anything starts
// — every problem at once, each as "file:line:col: what is wrong" with the
// allowed values — and compile its expressions once. File.Script makes it a
// load.Script for the engine. Schema makes the format's JSON Schema from
// the tables the parser reads (scenarios/journeys.schema.json, for editors:
// start a file with "# yaml-language-server: $schema=<path to it>").
//
// # Format
//
//	think: 500ms                 # longest pause between two steps; default 0
//	journeys:
//	  - name: browse             # the journey tag; unique
//	    weight: 3                # relative share of iterations; default 1
//	    think: 1s                # overrides the file's think for its steps
//	    steps:
//	      - name: list           # the name tag, and the endpoint tag by default; unique in the journey
//	        method: GET          # GET (default), POST, PUT, PATCH, DELETE, HEAD
//	        url: /api/items?q=${vu}   # a path relative to the load's target
//	        headers: {Accept: application/json}
//	        timeout: 2s          # shorter than the load's per-request timeout
//	        checks:              # expressions that must be true
//	          - status == 200
//	          - len(body.items) > 0
//	        captures:            # values for the later steps of the iteration
//	          item: body.items[0].id
//	        think: 100ms         # the pause after this step, before the next
//	      - name: add
//	        method: POST
//	        url: /api/cart
//	        body: {sku: "${item}", qty: 1}   # JSON
//	        tags: {endpoint: cart}           # only endpoint may be set
//	        continue_on_failure: true        # a failed check or no answer does not end the iteration
//	        checks: [status == 201]
//
// # Expressions
//
// Checks, captures and interpolations are expressions of
// github.com/expr-lang/expr (its language definition:
// https://expr-lang.org/docs/language-definition), type-checked when the
// file is parsed. Checks must be true or false. Checks and captures see the
// answer: status (int, 0 when no answer came), headers (the first value of
// each, by canonical name: headers["Content-Type"]), body (the answer
// decoded as JSON; nil when it is not JSON), text (the answer as text),
// duration_ms. Every expression sees vars (the captures of this iteration
// so far, a map), each capture of an earlier step by its own name, vu (the
// virtual user's ID) and iter (the iteration's number in the load). A name
// that is none of these is refused when the file is parsed, as is a
// capture name that is not an identifier or would shadow one of these
// names, a keyword or a built-in function of the language.
//
// ${expression} interpolates a value into a URL, a header value or a text
// leaf of a body; $${ is a literal ${. A string is inserted as it is, a
// whole number without exponent, a list or map as JSON; nil is an error.
// In a URL a value is escaped: as a path segment before the first literal
// '?', as a query value after it. A body leaf that is one ${expression}
// and nothing else keeps the value's JSON type ("${qty}" sends 2, not "2";
// "${string(qty)}" sends "2").
//
// Quote an expression that YAML would read otherwise: one that starts with
// !, {, [, ", ', * or &, or holds ": " or " #".
//
// # What a run records
//
// A step's request is recorded by load.VU.Do with tags journey, endpoint
// and name. Each check records one load.MetricChecks sample (1 held, 0
// not) with the same tags; a request that could not be made, an answer
// that did not come and a capture that failed record one sample of 0 of
// their own (an answer that did not come also fails every check). What
// failed is counted
// in MetricCheckFailures with a code: "check 2", "capture item",
// CodeNoAnswer, CodeRequest — a bounded set, since the codes come from the
// file. MetricJourneySuccess records, by journey, whether the iteration
// ran to its end with every step held. See File.Script for the order of
// things in an iteration.
package journeyfile
