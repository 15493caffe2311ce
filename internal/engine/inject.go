package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/internal/journal"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// Injector carries out fault events through Toxiproxy's HTTP API and the
// gateway's maintenance switch — the only ways a fault reaches a service —
// and crash faults through the environment, when it can crash a service.
type Injector struct {
	fc      *fault.Client
	links   map[string]string // link name -> proxy name
	maint   string            // the gateway's maintenance endpoint
	hc      *http.Client
	timeout time.Duration // per API call
	crasher env.Crasher   // nil: crash faults fail

	mu     sync.Mutex
	active map[int]applied // by fault index
}

// applied is what an applied fault left in place, for its removal.
type applied struct {
	proxy, toxic string
	down, maint  bool
	service      string // a service that is, or may be, down
}

// crashTimeout bounds a crash event: a container stopped (SIGKILL after 5
// s) and started again until healthy.
const crashTimeout = 90 * time.Second

// NewInjector returns an Injector for the environment described by info.
func NewInjector(info env.Info) *Injector {
	maint := ""
	if a, ok := info.Audit[mockstore.ServiceGateway]; ok {
		maint = a + "/audit/maintenance"
	}
	return &Injector{
		fc:      fault.NewClient(info.Toxiproxy),
		links:   info.Links,
		maint:   maint,
		hc:      &http.Client{Timeout: 5 * time.Second},
		timeout: 5 * time.Second,
		active:  map[int]applied{},
	}
}

// toxicName is the name a fault's toxic gets on its proxy: one per fault, so
// that faults on one link do not collide.
func toxicName(index int) string { return fmt.Sprintf("gameday_f%d", index) }

// Do carries out one event. It returns an error naming the event when the
// API refuses it or cannot be reached.
func (in *Injector) Do(ctx context.Context, ev scenario.Event) error {
	f := ev.Fault
	timeout := in.timeout
	if f.Kind == scenario.FaultCrash {
		timeout = crashTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	switch f.Kind {
	case scenario.FaultCrash:
		err = in.doCrash(ctx, ev)
	case scenario.FaultToxic:
		err = in.doToxic(ctx, ev)
	case scenario.FaultMaintenance:
		on := ev.Action == scenario.ActionApply
		m := map[string]any{"on": on}
		if on && f.Maintenance != nil {
			m["retry_after_s"], m["message"] = f.Maintenance.RetryAfter, f.Maintenance.Message
		}
		if err = in.setMaintenance(ctx, m); err == nil {
			in.track(ev, applied{maint: true})
		}
	default:
		err = fmt.Errorf("%s faults cannot be injected in this runtime", f.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", ev, err)
	}
	return nil
}

func (in *Injector) doToxic(ctx context.Context, ev scenario.Event) error {
	f := ev.Fault
	proxy, ok := in.links[f.Link]
	if !ok {
		return fmt.Errorf("no proxy for link %q", f.Link)
	}
	name := toxicName(ev.Index)
	if f.Toxic == fault.Down {
		if err := in.fc.SetEnabled(ctx, proxy, ev.Action == scenario.ActionRemove); err != nil {
			return err
		}
		in.track(ev, applied{proxy: proxy, down: true})
		return nil
	}
	switch ev.Action {
	case scenario.ActionApply:
		t := fault.Toxic{Name: name, Type: f.Toxic, Stream: f.Stream, Toxicity: float32(ev.Toxicity),
			Attributes: scenario.ToxicAttributes(f.Toxic, ev.Attrs)}
		if err := in.fc.AddToxic(ctx, proxy, t); err != nil {
			return err
		}
	case scenario.ActionChange:
		attrs := scenario.ToxicAttributes(f.Toxic, ev.Attrs)
		if err := in.fc.UpdateToxic(ctx, proxy, name, float32(ev.Toxicity), attrs); err != nil {
			return err
		}
	case scenario.ActionRemove:
		if err := in.fc.RemoveToxic(ctx, proxy, name); err != nil && !errors.Is(err, fault.ErrNotFound) {
			return err
		}
	}
	in.track(ev, applied{proxy: proxy, toxic: name})
	return nil
}

// doCrash kills, stops, restarts or (to end a stop) starts a service. A
// service that may be left down is tracked, for Clear to start it again.
func (in *Injector) doCrash(ctx context.Context, ev scenario.Event) error {
	if in.crasher == nil {
		return errors.New("this environment cannot crash services")
	}
	svc, action := ev.Fault.Service, ev.Fault.Action
	if ev.Action == scenario.ActionRemove {
		action = env.CrashStart
	}
	err := in.crasher.Crash(ctx, svc, action)
	in.mu.Lock()
	defer in.mu.Unlock()
	if err != nil || action == env.CrashStop {
		in.active[ev.Index] = applied{service: svc}
	} else {
		delete(in.active, ev.Index)
	}
	return err
}

// track remembers what is in place, so that Clear can say what it removed.
func (in *Injector) track(ev scenario.Event, a applied) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if ev.Action == scenario.ActionRemove {
		delete(in.active, ev.Index)
		return
	}
	in.active[ev.Index] = a
}

// Active returns how many faults are in place now.
func (in *Injector) Active() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.active)
}

// Clear takes every fault away whatever the injector believes is in place:
// every toxic of every proxy is removed, every proxy enabled, maintenance
// switched off, and every service a crash fault left down started again. It
// uses its own bounded contexts, so that it works after the run's context
// is cancelled; it returns what could not be cleared.
func (in *Injector) Clear() error {
	ctx, cancel := context.WithTimeout(context.Background(), in.timeout)
	defer cancel()
	errs := []error{in.fc.Reset(ctx)}
	if in.maint != "" { // a topology without the storefront's gateway has no switch
		if err := in.setMaintenance(ctx, map[string]any{"on": false}); err != nil {
			errs = append(errs, fmt.Errorf("switch maintenance off: %w", err))
		}
	}
	in.mu.Lock()
	var down []string
	for _, a := range in.active {
		if a.service != "" && !slices.Contains(down, a.service) {
			down = append(down, a.service)
		}
	}
	in.mu.Unlock()
	for _, svc := range down {
		if in.crasher == nil {
			break // never tracked: doCrash refuses without one
		}
		cctx, cancel := context.WithTimeout(context.Background(), crashTimeout)
		errs = append(errs, in.crasher.Crash(cctx, svc, env.CrashStart))
		cancel()
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	in.mu.Lock()
	clear(in.active)
	in.mu.Unlock()
	return nil
}

func (in *Injector) setMaintenance(ctx context.Context, m map[string]any) error {
	if in.maint == "" {
		return errors.New("no maintenance switch: the environment has no storefront gateway")
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.maint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := in.hc.Do(req)
	if err != nil {
		return fmt.Errorf("maintenance switch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("maintenance switch: %w", mockstore.ReadError(resp))
	}
	return nil
}

// RunTimeline carries out events at their planned offsets from start, in
// order, recording each with its actual time through rec. An event that
// fails is recorded with its error and the timeline goes on; the errors are
// returned together. It returns ctx's error when ctx ends first; the caller
// clears what is in place.
//
// A crash is recorded when it began, and the service's return (the end of
// a stop, or a kill or restart done) as a remove when the service answers
// again: the actual interval of a crash is the time its service was down.
func (in *Injector) RunTimeline(ctx context.Context, start time.Time, events []scenario.Event, rec func(journal.Fault)) error {
	var errs []error
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for _, ev := range events {
		if wait := time.Until(start.Add(ev.At)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return errors.Join(append(errs, ctx.Err())...)
			case <-timer.C:
			}
		}
		began := time.Since(start)
		err := in.Do(ctx, ev)
		done := time.Since(start)
		r := journal.Fault{Planned: ev.At, Actual: done, Action: string(ev.Action), Fault: ev.Index, What: ev.Fault.String(), Phase: ev.Fault.Phase}
		crash := ev.Fault.Kind == scenario.FaultCrash && ev.Action == scenario.ActionApply
		if crash {
			r.Actual = began
		}
		if err != nil {
			r.Err = err.Error()
			errs = append(errs, err)
		}
		if rec != nil {
			rec(r)
			if crash && err == nil && ev.Fault.Action != scenario.CrashStop {
				rec(journal.Fault{Planned: ev.At, Actual: done, Action: string(scenario.ActionRemove), Fault: ev.Index,
					What: ev.Fault.String() + ": up again", Phase: ev.Fault.Phase})
			}
		}
	}
	return errors.Join(errs...)
}
