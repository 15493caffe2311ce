package expression

import (
	"errors"
	"testing"

	"github.com/expr-lang/expr/types"
)

func TestCompile(t *testing.T) {
	names := types.Map{"status": types.Int, "body": types.Any, "text": types.String}
	tests := []struct {
		src     string
		asBool  bool
		offset  int
		message string
	}{
		{"status == 200", true, 0, ""},
		{"", true, 0, "empty expression"},
		{"status === 200", true, 9, `unexpected token Operator("=")`},
		{`"é" + stauts`, false, 7, "unknown name stauts"},
		{"status", true, -1, "expected bool, but got int"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, err := Compile(tt.src, names, tt.asBool)
			if tt.message == "" {
				if err != nil || p.Source() != tt.src {
					t.Fatalf("Compile = %v, %v", p, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Message != tt.message || (tt.offset >= 0 && e.Offset != tt.offset) {
				t.Fatalf("Compile error %#v; want offset %d, %q", err, tt.offset, tt.message)
			}
		})
	}
}

func TestRunAndUses(t *testing.T) {
	names := types.Map{"status": types.Int, "body": types.Any, "text": types.String}
	p, err := Compile(`status == 200 && body.service == "gateway"`, names, true)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Uses("body") || !p.Uses("status") || p.Uses("text") {
		t.Errorf("Uses: body %v, status %v, text %v", p.Uses("body"), p.Uses("status"), p.Uses("text"))
	}
	v, err := p.Run(map[string]any{"status": 200, "body": JSON([]byte(`{"service":"gateway"}`))})
	if err != nil || v != true {
		t.Errorf("Run = %v, %v", v, err)
	}
	if JSON([]byte("<html>")) != nil {
		t.Error("JSON of HTML is not nil")
	}
	all, err := Compile(`$env.text != ""`, names, true)
	if err != nil || !all.Uses("body") {
		t.Errorf("$env reaches every name: %v %v", all, err)
	}
	if _, err := p.Run(map[string]any{"status": 200, "body": "x"}); err == nil {
		t.Error("Run on a body of the wrong shape: no error")
	}
}
