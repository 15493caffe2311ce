package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gameday/gameday/internal/journal"
)

// Names of the files a run's directory holds beside the stores and the
// load's files.
const (
	JournalFile = "journal.json"
	HTMLFile    = "report.html"
)

// WriteFile writes path through a temporary file beside it, so that a
// reader never sees half a report; it makes the directories on the way.
// The error names path.
func WriteFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; reports are for sharing.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteJSON writes v to path as indented JSON (WriteFile).
func WriteJSON(path string, v any) error {
	return WriteFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(v)
	})
}

// WriteJournal writes j to path as its JSON journal, which ReadJournals
// reads back.
func WriteJournal(path string, j *journal.Run) error { return WriteJSON(path, j) }

// WriteJournals writes js to path as one file of several runs,
// {"scenarios": [journal, ...]} (what `gameday run --json` writes), which
// ReadJournals reads back.
func WriteJournals(path string, js []*journal.Run) error {
	return WriteJSON(path, map[string]any{"scenarios": js})
}

// WriteHTML writes the HTML report of j into dir (HTMLFile) and returns its
// path.
func WriteHTML(dir string, j *journal.Run) (string, error) {
	path := filepath.Join(dir, HTMLFile)
	return path, WriteFile(path, func(w io.Writer) error { return HTML(w, j) })
}

// WriteJUnit writes the JUnit XML of suites to path.
func WriteJUnit(path string, suites []Suite) error {
	return WriteFile(path, func(w io.Writer) error { return JUnit(w, suites) })
}

// WriteMarkdown writes the Markdown summary of suites to path.
func WriteMarkdown(path string, suites []Suite) error {
	return WriteFile(path, func(w io.Writer) error { return Markdown(w, suites) })
}

// IndexFile gathers the HTML reports of several runs for the page that
// links them (Index).
type IndexFile struct {
	path    string // "" when there is no index to write
	entries []Entry
}

// NewIndexFile returns an index to be written at path when several is true
// (one run needs no index), and one that writes nothing otherwise.
func NewIndexFile(path string, several bool) *IndexFile {
	if !several {
		path = ""
	}
	return &IndexFile{path: path}
}

// Add links j's report at reportPath. It is not safe for concurrent use.
func (x *IndexFile) Add(reportPath string, j *journal.Run) {
	if x.path == "" {
		return
	}
	href, err := filepath.Rel(filepath.Dir(x.path), reportPath)
	if err != nil {
		href, _ = filepath.Abs(reportPath)
	}
	x.entries = append(x.entries, Entry{Href: filepath.ToSlash(href), Journal: j})
}

// Write writes the index, when there is one to write, and returns its
// path; "" when it wrote none.
func (x *IndexFile) Write() (string, error) {
	if x.path == "" || len(x.entries) == 0 {
		return "", nil
	}
	if err := WriteFile(x.path, func(w io.Writer) error { return Index(w, x.entries) }); err != nil {
		return "", err
	}
	return x.path, nil
}
