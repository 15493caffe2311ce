package journeyfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gameday/gameday/internal/expression"
	"github.com/gameday/gameday/internal/load"
)

// Metrics a journey file's users record besides the engine's own (requests
// through load.VU.Do, and load.MetricChecks).
const (
	// MetricJourneySuccess is a rate by journey: 1 for an iteration whose
	// every step got an answer and held its checks and captures, 0 for one
	// that did not. An iteration cut short by the end of the load records
	// nothing.
	MetricJourneySuccess = "journey_success"
	// MetricCheckFailures is a counter by journey, endpoint, name (the
	// step) and code: what failed, one of the Code* values or "check N"
	// (the step's Nth check, from 1) or "capture NAME". Step.Checks and
	// Step.Captures give back the expression.
	MetricCheckFailures = "check_failures"
)

// Codes of MetricCheckFailures that are no check of the file.
const (
	CodeNoAnswer = "no answer" // the request got no answer: refused, reset, timed out
	CodeRequest  = "request"   // the request could not be made: an interpolation failed
)

// Option configures a Script.
type Option func(*script)

// WithLogger sends the script's messages to log: the first failure of each
// check, capture and request of the file, with its line and what went
// wrong (later ones are only counted, in MetricCheckFailures). By default
// nothing is logged.
func WithLogger(log *slog.Logger) Option {
	return func(s *script) { s.log = log }
}

// Script returns the load.Script that runs f's journeys against target, an
// http or https URL to which every step's path is appended (a path in the
// target is kept: http://host/base and /items make http://host/base/items).
// It fails when target is not such a URL.
//
// Each iteration picks a journey by weight with the user's random source
// and runs its steps in order, pausing a random time from 0 to a step's
// think after it, before the next step (not after the last). A step records
// its request through VU.Do (tags journey, endpoint, name) and one
// load.MetricChecks sample per check. A step fails when its request cannot
// be made (an interpolation failed), when it gets no answer (every check
// is recorded as not held), when a check is not true or cannot be
// evaluated, or when a capture cannot be evaluated; a failure other than
// a check's records one load.MetricChecks sample of 0 of its own (so that a
// step without checks shows it too). A failed step ends the iteration,
// unless it has continue_on_failure and what failed was a check or the
// answer (a request that cannot be made or a capture that fails always
// ends it). Captures are evaluated after the checks, in file order, and are
// seen by the steps after them; they start empty every iteration, while
// the user's cookies last across iterations.
func (f *File) Script(target string, opts ...Option) (load.Script, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parse target: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("parse target: %q: want an http or https URL with a host and no query, like http://127.0.0.1:8080", target)
	}
	s := &script{f: f, base: strings.TrimSuffix(target, "/"), log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(s)
	}
	for _, j := range f.Journeys {
		s.total += j.Weight
		s.cumulative = append(s.cumulative, s.total)
	}
	if s.total == 0 {
		return nil, errors.New("make script: the file has no journey")
	}
	return s, nil
}

// script is a File ready to run against a target; shared by every user.
type script struct {
	f          *File
	base       string
	log        *slog.Logger
	cumulative []int // running sums of the journeys' weights
	total      int
	logged     sync.Map // failure key -> struct{}: logged once
}

// NewUser returns a user of vu running the file's journeys.
func (s *script) NewUser(vu *load.VU) load.User {
	return &user{s: s, vu: vu}
}

type user struct {
	s  *script
	vu *load.VU
}

// outcome is how a step ended.
type outcome int

const (
	held        outcome = iota // every check and capture held
	failed                     // a check failed: continue_on_failure may go on
	ended                      // the iteration cannot go on
	interrupted                // ctx ended: record nothing more
)

// Iterate runs one journey, picked by weight.
func (u *user) Iterate(ctx context.Context, iter load.Iteration) {
	j := u.pick()
	vars := map[string]any{}
	env := map[string]any{"vars": vars, "vu": u.vu.ID, "iter": int(iter.N)}
	ok := true
steps:
	for i, st := range j.Steps {
		if i > 0 && !load.Sleep(ctx, pause(u.vu.Rand, j.Steps[i-1].Think)) {
			return
		}
		switch u.step(ctx, j, st, env, vars) {
		case interrupted:
			return
		case ended:
			ok = false
			break steps
		case failed:
			ok = false
			if !st.ContinueOnFailure {
				break steps
			}
		}
	}
	if ctx.Err() != nil {
		return
	}
	u.vu.Rate(MetricJourneySuccess, load.Tags{Journey: j.Name}, ok)
}

// pause draws a think time from 0 to think, both included.
func pause(r *rand.Rand, think time.Duration) time.Duration {
	if think <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(think) + 1))
}

// pick draws a journey by weight.
func (u *user) pick() *Journey {
	n := u.vu.Rand.IntN(u.s.total)
	i, _ := slices.BinarySearch(u.s.cumulative, n+1)
	return u.s.f.Journeys[i]
}

// step sends one request and judges its answer.
func (u *user) step(ctx context.Context, j *Journey, st *Step, env, vars map[string]any) outcome {
	tags := load.Tags{Journey: j.Name, Endpoint: st.Endpoint, Name: st.Name}
	req, err := u.request(ctx, st, env)
	if err != nil {
		u.vu.Rate(load.MetricChecks, tags, false)
		u.fail(tags, CodeRequest, st.Line, "", err, 0)
		return ended
	}
	if st.Timeout > 0 {
		rctx, cancel := context.WithTimeout(ctx, st.Timeout)
		defer cancel()
		req = req.WithContext(rctx)
	}
	resp := u.vu.Do(req, tags)
	if ctx.Err() != nil {
		return interrupted
	}
	if resp.Status == 0 {
		for range len(st.Checks) + 1 {
			u.vu.Rate(load.MetricChecks, tags, false)
		}
		u.fail(tags, CodeNoAnswer, st.Line, "", resp.Err, 0)
		return failed
	}
	expression.Answer(env, st.reads, resp.Status, resp.Header, resp.Body, resp.Duration)
	result := held
	for i, c := range st.Checks {
		v, err := c.prog.Run(env)
		okay, _ := v.(bool)
		u.vu.Rate(load.MetricChecks, tags, err == nil && okay)
		if err == nil && okay {
			continue
		}
		u.fail(tags, "check "+strconv.Itoa(i+1), c.Line, c.Source, err, resp.Status)
		result = failed
	}
	if result == failed && !st.ContinueOnFailure {
		return failed
	}
	for _, c := range st.Captures {
		v, err := c.prog.Run(env)
		if err != nil {
			u.vu.Rate(load.MetricChecks, tags, false)
			u.fail(tags, "capture "+c.Name, c.Line, c.Source, err, resp.Status)
			return ended
		}
		vars[c.Name] = v
		env[c.Name] = v
	}
	return result
}

// request builds the step's request with the values of env.
func (u *user) request(ctx context.Context, st *Step, env map[string]any) (*http.Request, error) {
	path, err := st.url.render(env, true)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	var body io.Reader
	if st.body != nil {
		b, err := st.body.render(env)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, st.Method, u.s.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("make request: %w", err)
	}
	for _, h := range st.headers {
		v, err := h.value.render(env, false)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.name, err)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("header %s: the value holds a line break", h.name)
		}
		if h.name == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(h.name, v)
	}
	if st.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// fail counts a failure of the step and logs the first of its kind.
func (u *user) fail(tags load.Tags, code string, line int, source string, err error, status int) {
	t := tags
	t.Code = code
	u.vu.Count(MetricCheckFailures, t, 1)
	key := tags.Journey + "\x00" + tags.Name + "\x00" + code
	if _, seen := u.s.logged.LoadOrStore(key, struct{}{}); seen {
		return
	}
	attrs := []any{
		slog.String("file", fmt.Sprintf("%s:%d", u.s.f.Name, line)),
		slog.String("journey", tags.Journey),
		slog.String("step", tags.Name),
		slog.String("failure", code),
	}
	if source != "" {
		attrs = append(attrs, slog.String("expression", source))
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	u.s.log.Warn("journey step failed (later failures of this kind are only counted)", attrs...)
}
