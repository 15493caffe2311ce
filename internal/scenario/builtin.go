package scenario

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gameday/gameday/internal/yamlpos"
	"github.com/gameday/gameday/scenarios"
)

// BuiltinDir is where the built-in scenarios live in the gameday repository;
// a built-in's File is named after it ("scenarios/wallet-ambiguous-commit.yaml").
const BuiltinDir = "scenarios"

// Source is one scenario file to parse: where it comes from and its bytes.
type Source struct {
	File    string // the path given, or BuiltinDir/<name>.yaml for a built-in
	Data    []byte
	Builtin bool // embedded in the binary (package scenarios)
}

// Parse parses and validates the source; see Parse.
func (s Source) Parse() (*Scenario, error) {
	return s.ParseContext(context.Background())
}

// ParseContext parses and validates the source until ctx ends; see
// ParseContext.
func (s Source) ParseContext(ctx context.Context) (*Scenario, error) {
	sc, err := ParseContext(ctx, s.File, s.Data)
	if sc != nil {
		sc.Builtin = s.Builtin
	}
	return sc, err
}

// Builtins returns the names of the built-in scenarios, sorted.
func Builtins() []string {
	ents, err := fs.ReadDir(scenarios.FS, ".")
	if err != nil {
		return nil // cannot happen: the embedded root is always there
	}
	var out []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			out = append(out, name)
		}
	}
	return out
}

// BuiltinSource returns the built-in scenario called name, with or without
// ".yaml". It returns an error naming the built-ins (and the nearest one)
// when there is none of that name.
func BuiltinSource(name string) (Source, error) {
	name = strings.TrimSuffix(name, ".yaml")
	if !slices.Contains(Builtins(), name) {
		return Source{}, errors.New(yamlpos.Unknown("built-in scenario", name, Builtins()))
	}
	data, err := fs.ReadFile(scenarios.FS, name+".yaml")
	if err != nil {
		return Source{}, fmt.Errorf("read built-in scenario: %w", err)
	}
	return Source{File: path.Join(BuiltinDir, name+".yaml"), Data: data, Builtin: true}, nil
}

// Builtin parses the built-in scenario called name; see BuiltinSource and
// Parse for its errors.
func Builtin(name string) (*Scenario, error) {
	src, err := BuiltinSource(name)
	if err != nil {
		return nil, err
	}
	return src.Parse()
}

// Find resolves what a user named on the command line: a scenario file, a
// directory (its *.yaml and *.yml files, sorted, not recursing), or the name
// of a built-in scenario. A path that exists wins over a built-in of the
// same name. It returns an error when the argument is none of these or
// cannot be read.
func Find(arg string) ([]Source, error) {
	fi, err := os.Stat(arg)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if strings.ContainsRune(arg, os.PathSeparator) || strings.ContainsRune(arg, '/') {
			return nil, fmt.Errorf("%s: no such file or directory", arg)
		}
		src, err := BuiltinSource(arg)
		if err != nil {
			return nil, fmt.Errorf("%s: no such file, and %w", arg, err)
		}
		return []Source{src}, nil
	case err != nil:
		return nil, fmt.Errorf("find scenario: %w", err)
	case !fi.IsDir():
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("read scenario: %w", err)
		}
		return []Source{{File: arg, Data: data}}, nil
	}
	ents, err := os.ReadDir(arg)
	if err != nil {
		return nil, fmt.Errorf("read scenario directory: %w", err)
	}
	var out []Source
	for _, e := range ents {
		if e.IsDir() || (filepath.Ext(e.Name()) != ".yaml" && filepath.Ext(e.Name()) != ".yml") {
			continue
		}
		file := filepath.Join(arg, e.Name())
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read scenario: %w", err)
		}
		out = append(out, Source{File: file, Data: data})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no scenario files (*.yaml) in the directory", arg)
	}
	return out, nil
}
