package scenario

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday/gameday/scenarios"
)

// TestBuiltins holds every built-in scenario valid, named after its file,
// described, guarding at least one feature, and pointing editors at the
// schema.
func TestBuiltins(t *testing.T) {
	names := Builtins()
	if len(names) == 0 {
		t.Fatal("no built-in scenarios")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			sc, err := Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Name != name || !sc.Builtin || sc.File != "scenarios/"+name+".yaml" {
				t.Errorf("name %q, builtin %v, file %q", sc.Name, sc.Builtin, sc.File)
			}
			if sc.Description == "" || len(sc.Guards) == 0 {
				t.Errorf("a built-in needs a description and the features it guards: %q %v", sc.Description, sc.Guards)
			}
			if sc.Load.Journeys != DefaultJourneys {
				t.Errorf("journeys %s: the built-ins drive the storefront's shoppers", sc.Load.Journeys)
			}
			data, _ := fs.ReadFile(scenarios.FS, name+".yaml")
			if !strings.HasPrefix(string(data), "# yaml-language-server: $schema=./"+scenarios.SchemaFile+"\n") {
				t.Errorf("the first line does not point editors at the schema")
			}
			// The embedded file is the one in the repository.
			if disk := readFile(t, filepath.Join("../../scenarios", name+".yaml")); string(disk) != string(data) {
				t.Errorf("the embedded file differs from scenarios/%s.yaml: rebuild", name)
			}
		})
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", base)
	write("b.yml", base)
	write("notes.txt", "not a scenario")
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A file named like a built-in, in the working directory, wins.
	t.Chdir(dir)
	write("wallet-ambiguous-commit.yaml", base)

	tests := []struct {
		arg     string
		files   []string
		builtin bool
		err     string
	}{
		{arg: a, files: []string{a}},
		{arg: dir, files: []string{a, filepath.Join(dir, "b.yml"), filepath.Join(dir, "wallet-ambiguous-commit.yaml")}},
		{arg: "wallet-ambiguous-commit", files: []string{"scenarios/wallet-ambiguous-commit.yaml"}, builtin: true},
		{arg: "wallet-ambiguous-commit.yaml", files: []string{"wallet-ambiguous-commit.yaml"}},
		{arg: "wallet-ambiguos-commit", err: `wallet-ambiguos-commit: no such file, and unknown built-in scenario "wallet-ambiguos-commit": did you mean "wallet-ambiguous-commit"?`},
		{arg: "nowhere/x.yaml", err: "nowhere/x.yaml: no such file or directory"},
		{arg: filepath.Join(dir, "empty"), err: "no scenario files (*.yaml) in the directory"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			srcs, err := Find(tt.arg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Find: %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			for _, s := range srcs {
				files = append(files, s.File)
				if s.Builtin != tt.builtin || len(s.Data) == 0 {
					t.Errorf("%s: builtin %v, %d bytes", s.File, s.Builtin, len(s.Data))
				}
				if _, err := s.Parse(); err != nil {
					t.Error(err)
				}
			}
			if strings.Join(files, " ") != strings.Join(tt.files, " ") {
				t.Errorf("files %v, want %v", files, tt.files)
			}
		})
	}
}
