// Package engine runs scenarios: it brings an environment up, carries out
// the fault timeline through Toxiproxy's API while our load engine drives
// shoppers, reads the services' audits once the storefront has
// settled, has the judge give its verdicts, and returns the run's journal
// (internal/journal), which the reports render. Data flows one way:
// scenario → env → fault + load → judge → journal; the engine is where those
// meet, and it renders nothing: a live view follows the load through
// Options' callbacks.
//
// Whatever way a run ends, the engine takes every fault away again (Clear)
// before it closes the environment.
package engine
