package report

import (
	"fmt"
	"path/filepath"
	"regexp"
	"time"
)

// Layout says where a command's files go: into the --out directory when one
// is named, otherwise under reports/, named by the time the command started
// (reports/20260314-092653-<name>).
type Layout struct {
	Out   string // the --out directory; "" for reports/
	Stamp string // when the command started, 20060102-150405
}

// NewLayout returns the layout of a command started at start with --out
// out ("" for none).
func NewLayout(out string, start time.Time) Layout {
	return Layout{Out: out, Stamp: start.Format("20060102-150405")}
}

// RunDir is where the files of one scenario's run go: Out itself for one
// scenario, Out/<name> for one of several; reports/<stamp>-<name> without
// Out.
func (l Layout) RunDir(name string, several bool) string {
	name = DirName(name)
	switch {
	case l.Out == "":
		return filepath.Join("reports", l.Stamp+"-"+name)
	case several:
		return filepath.Join(l.Out, name)
	}
	return l.Out
}

// IndexPath is where the index of several scenarios' reports goes: in Out,
// or beside the run directories under reports/.
func (l Layout) IndexPath() string {
	if l.Out == "" {
		return filepath.Join("reports", l.Stamp+"-index.html")
	}
	return filepath.Join(l.Out, "index.html")
}

// Dir is where a campaign's files go (name "sensitivity", "matrix-naive"):
// Out, or reports/<stamp>-<name>.
func (l Layout) Dir(name string) string {
	if l.Out == "" {
		return filepath.Join("reports", l.Stamp+"-"+name)
	}
	return l.Out
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// DirName makes a scenario's name a directory name: every run of other
// characters is one "_".
func DirName(name string) string { return unsafeName.ReplaceAllString(name, "_") }

// DirNames names the directories of several reports side by side: each
// scenario's DirName, numbered when it comes again ("x", "x-2", "x-3").
type DirNames map[string]int

// Next returns the directory name of the next report of scenario name.
func (n DirNames) Next(name string) string {
	name = DirName(name)
	n[name]++
	if k := n[name]; k > 1 {
		return fmt.Sprintf("%s-%d", name, k)
	}
	return name
}
