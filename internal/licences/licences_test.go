package licences_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// classifierModule is the module whose assets/License folder holds the texts
// that go-licenses matches against: the version go-licenses v2.0.1 requires.
const classifierModule = "github.com/google/licenseclassifier/v2@v2.0.0"

// TestMakeLicences runs `make licences` on a module that depends on
// example.com/dep, one case per licence of that dependency, and checks that
// the target passes or fails, and that a failure names the dependency.
func TestMakeLicences(t *testing.T) {
	if testing.Short() {
		t.Skip("builds go-licenses and runs make")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	texts := licenceTexts(t)

	tests := []struct {
		name     string
		licence  string // a folder of assets/License; "" for no licence file
		testOnly bool   // only the app's test imports the dependency
		broken   bool   // the app imports a package that no module provides
		want     string // "" to pass; else what the failure must print
	}{
		{name: "MIT", licence: "MIT"},
		{name: "Apache-2.0", licence: "Apache-2.0"},
		{name: "BSD-3-Clause", licence: "BSD-3-Clause"},
		// MPL-2.0 is copyleft per file: it binds changes to the dependency's
		// own files, not our code, so it passes.
		{name: "MPL-2.0", licence: "MPL-2.0"},
		{name: "AGPL-3.0", licence: "AGPL-3.0", want: "License 'AGPL-3.0' of not allowed license type 'Forbidden' found for library 'example.com/dep'"},
		{name: "GPL-2.0", licence: "GPL-2.0", want: "License 'GPL-2.0' of not allowed license type 'Restricted' found for library 'example.com/dep'"},
		{name: "GPL-3.0", licence: "GPL-3.0", want: "License 'GPL-3.0' of not allowed license type 'Restricted' found for library 'example.com/dep'"},
		{name: "LGPL-2.1", licence: "LGPL-2.1", want: "License 'LGPL-2.1' of not allowed license type 'Restricted' found for library 'example.com/dep'"},
		{name: "LGPL-3.0", licence: "LGPL-3.0", want: "License 'LGPL-3.0' of not allowed license type 'Restricted' found for library 'example.com/dep'"},
		// go-licenses has no type for SSPL, BUSL and Elastic: they are
		// "unknown", which the target forbids.
		{name: "SSPL-1.0", licence: "SSPL-1.0", want: "License 'SSPL-1.0' of not allowed license type 'Unknown' found for library 'example.com/dep'"},
		{name: "BUSL-1.1", licence: "Business-Source-License-1.1", want: "License 'Business-Source-License-1.1' of not allowed license type 'Unknown' found for library 'example.com/dep'"},
		{name: "Elastic-2.0", licence: "Elastic-2.0", want: "License 'Elastic-2.0' of not allowed license type 'Unknown' found for library 'example.com/dep'"},
		{name: "no licence file", want: "Did not find license for library 'example.com/dep'"},
		{name: "GPL-3.0 in a test dependency", licence: "GPL-3.0", testOnly: true, want: "License 'GPL-3.0' of not allowed license type 'Restricted' found for library 'example.com/dep'"},
		{name: "packages that do not load", licence: "MIT", broken: true, want: "example.com/missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			app := filepath.Join(dir, "app")
			dep := filepath.Join(dir, "dep")
			// The app carries gameday's own LICENSE, which must pass too.
			copyFile(t, filepath.Join(root, "LICENSE"), filepath.Join(app, "LICENSE"))
			writeFile(t, filepath.Join(app, "go.mod"), "module example.com/app\n\ngo 1.26\n\nrequire example.com/dep v0.0.0\n\nreplace example.com/dep => ../dep\n")
			imports := `import _ "example.com/dep"` + "\n"
			if tt.broken {
				imports += `import _ "example.com/missing"` + "\n"
			}
			if tt.testOnly {
				writeFile(t, filepath.Join(app, "main.go"), "package main\n\nfunc main() {}\n")
				writeFile(t, filepath.Join(app, "main_test.go"), "package main\n\n"+imports)
			} else {
				writeFile(t, filepath.Join(app, "main.go"), "package main\n\n"+imports+"\nfunc main() {}\n")
			}
			writeFile(t, filepath.Join(dep, "go.mod"), "module example.com/dep\n\ngo 1.26\n")
			writeFile(t, filepath.Join(dep, "dep.go"), "package dep\n")
			if tt.licence != "" {
				copyFile(t, licenceText(t, texts, tt.licence), filepath.Join(dep, "LICENSE"))
			}

			cmd := exec.Command("make", "--no-print-directory", "-C", root, "licences", "LICENCES_DIR="+app)
			// Not the jobserver or variables of a make that runs this test.
			cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MAKELEVEL=")
			out, err := cmd.CombinedOutput()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("make licences failed: %v\n%s", err, out)
			case tt.want == "" && !strings.Contains(string(out), "libraries, all allowed"):
				t.Fatalf("make licences passed without its summary line:\n%s", out)
			case tt.want != "" && err == nil:
				t.Fatalf("make licences passed, want a failure printing %q:\n%s", tt.want, out)
			case tt.want != "" && !strings.Contains(string(out), tt.want):
				t.Fatalf("make licences failed without printing %q:\n%s", tt.want, out)
			case tt.want != "" && !strings.Contains(string(out), "make licences: FAIL"):
				t.Fatalf("make licences failed without its FAIL line:\n%s", out)
			}
		})
	}
}

// licenceTexts returns the assets/License folder of the classifier module,
// from the module cache (or the Go module proxy, the first time).
func licenceTexts(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", classifierModule).Output()
	if err != nil {
		tb.Fatalf("go mod download %s: %v\n%s", classifierModule, err, out)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil {
		tb.Fatalf("decode go mod download: %v", err)
	}
	return filepath.Join(m.Dir, "assets", "License")
}

// licenceText returns the file of the corpus that holds the whole text of
// the licence named by folder: pristine.txt where there is one.
func licenceText(tb testing.TB, texts, folder string) string {
	tb.Helper()
	for _, name := range []string{"pristine.txt", "license.txt"} {
		path := filepath.Join(texts, folder, name)
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	tb.Fatalf("no text of %s in %s", folder, texts)
	return ""
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	writeFile(tb, to, string(b))
}
