// Package report renders what a run found for the people and machines that
// read it: the live progress line, the verdict table on the terminal, the
// JSON journal, JUnit XML for CI, and the HTML and Markdown reports.
package report
