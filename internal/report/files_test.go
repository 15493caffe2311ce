package report

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/journal"
)

// TestWriteFile: a report file appears whole or not at all, readable by
// others, in directories made on the way; a failed write leaves nothing.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "x.txt")
	if err := WriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 || fi.Size() != 5 {
		t.Errorf("written file: %v, %v", fi, err)
	}
	bad := filepath.Join(dir, "bad.txt")
	err = WriteFile(bad, func(w io.Writer) error { return errors.New("render failed") })
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "render failed") {
		t.Errorf("WriteFile = %v; want the path and the cause", err)
	}
	left, _ := os.ReadDir(dir)
	for _, e := range left {
		if e.Name() != "a" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestWriteJournals: what WriteJournal and WriteJournals write reads back.
func TestWriteJournals(t *testing.T) {
	dir := t.TempDir()
	one, all := filepath.Join(dir, JournalFile), filepath.Join(dir, "all.json")
	if err := WriteJournal(one, fixture()); err != nil {
		t.Fatal(err)
	}
	if err := WriteJournals(all, []*journal.Run{fixture(), {Scenario: "other"}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{one: 1, all: 2} {
		js, err := ReadJournalFile(path)
		if err != nil || len(js) != want || js[0].Scenario != "wallet-ambiguous-commit" {
			t.Errorf("%s read back as %d journals, %v", path, len(js), err)
		}
	}
}

// TestIndexFile: an index of several reports links each relative to it;
// one run has no index.
func TestIndexFile(t *testing.T) {
	dir := t.TempDir()
	one := NewIndexFile(filepath.Join(dir, "one", "index.html"), false)
	one.Add(filepath.Join(dir, "one", "report.html"), fixture())
	if path, err := one.Write(); path != "" || err != nil {
		t.Errorf("one run: index %q, %v; want none", path, err)
	}
	x := NewIndexFile(filepath.Join(dir, "index.html"), true)
	if path, err := x.Write(); path != "" || err != nil {
		t.Errorf("no reports: index %q, %v; want none", path, err)
	}
	x.Add(filepath.Join(dir, "a", "report.html"), fixture())
	x.Add(filepath.Join(dir, "b", "report.html"), &journal.Run{Scenario: "b"})
	path, err := x.Write()
	if err != nil || path != filepath.Join(dir, "index.html") {
		t.Fatalf("index %q, %v", path, err)
	}
	b, _ := os.ReadFile(path)
	for _, want := range []string{`href="a/report.html"`, `href="b/report.html"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("index does not hold %s", want)
		}
	}
}

func TestLayout(t *testing.T) {
	start := time.Date(2026, 3, 14, 9, 26, 53, 0, time.Local)
	def, out := NewLayout("", start), NewLayout("out", start)
	for _, tt := range []struct{ got, want string }{
		{def.RunDir("wallet ambiguous/commit", false), filepath.Join("reports", "20260314-092653-wallet_ambiguous_commit")},
		{def.RunDir("a", true), filepath.Join("reports", "20260314-092653-a")},
		{def.IndexPath(), filepath.Join("reports", "20260314-092653-index.html")},
		{def.Dir("sensitivity"), filepath.Join("reports", "20260314-092653-sensitivity")},
		{out.RunDir("a", false), "out"},
		{out.RunDir("a", true), filepath.Join("out", "a")},
		{out.IndexPath(), filepath.Join("out", "index.html")},
		{out.Dir("matrix-naive"), "out"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q; want %q", tt.got, tt.want)
		}
	}
	names := DirNames{}
	var got []string
	for _, n := range []string{"x", "y", "x", "x/y", "x"} {
		got = append(got, names.Next(n))
	}
	if strings.Join(got, " ") != "x y x-2 x_y x-3" {
		t.Errorf("directory names %q", got)
	}
}
