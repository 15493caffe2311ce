// Package licences has no code: its test checks what `make licences`, the
// licence check of `make lint`, lets through and what it stops. It runs that
// Makefile target on small modules made for each case, whose one dependency
// carries a licence text taken from the classifier's own corpus, so no copyleft
// module has to be downloaded.
package licences
