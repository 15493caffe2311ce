// Package engine runs scenarios: it brings an environment up, carries out
// the fault timeline through Toxiproxy's API while our load engine drives shoppers, reads
// the audits when the load ends, has the judge give its verdicts and hands
// everything to the reports. Data flows one way: scenario → env → fault +
// load → judge → report; the engine is where those meet.
//
// Whatever way a run ends, the engine takes every fault away again (Clear)
// before it closes the environment.
package engine
