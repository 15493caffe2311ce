// Package report renders what a run found (its journal, internal/journal)
// for the people and machines that read it: the live progress line, the
// verdict table on the terminal, the JSON journal, JUnit XML for CI, and the
// HTML and Markdown reports. It writes their files too — each whole or not
// at all (WriteFile), the index of several runs' reports — and says where a
// command's files go (Layout).
package report
