package journeyfile

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse holds that no input makes the parser panic (it runs without
// Parse's recover), that every problem it reports is an *Error of the file,
// and that what it accepts has journeys with steps and a positive weight.
func FuzzParse(f *testing.F) {
	for _, path := range []string{examplePath, "testdata/full.yaml"} {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, src := range []string{
		step("checks: [status == 200, 'len(body.items) > 0'], captures: {a: body.items[0]}"),
		stepAt(`'/x/${"}" + "{"}?q=${ {"k": vu}.k }'`, "body: {a: '${vu}', b: [1, '$${x}', {c: null}]}"),
		step("headers: {X-A: '${vu', Accept: '${'}"),
		"journeys:\n  - name: j\n    steps:\n      - name: s\n        url: /x/${item}\n      - name: t\n        url: /y\n        captures: {item: body.id}\n",
		"a: &a [x, x]\njourneys: [{name: j, steps: [{name: s, url: /, body: [*a, *a]}]}]\n",
		"journeys: [{name: j, steps: [{name: s, url: /, body: {<<: {a: 1}}}]}]\n",
		"think: 1e3\njourneys: [{name: j, weight: 1e3, steps: [{name: s, url: /, timeout: .5s}]}]\n",
		"journeys: !x [{name: j}]\n",
	} {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parse("f.yaml", data)
		if err != nil {
			if file != nil {
				t.Fatal("a file and an error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is no *Error: %v", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yaml") {
					t.Fatalf("problem without the file's name: %q", line)
				}
			}
			return
		}
		if len(file.Journeys) == 0 {
			t.Fatal("accepted a file without journeys")
		}
		for _, j := range file.Journeys {
			if j.Weight < 1 || len(j.Steps) == 0 {
				t.Fatalf("journey %+v", j)
			}
			for _, st := range j.Steps {
				if st.url == nil || !strings.HasPrefix(st.URL, "/") || st.Endpoint == "" {
					t.Fatalf("step %+v", st)
				}
			}
		}
	})
}
