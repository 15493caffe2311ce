package load

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"time"

	"github.com/gameday/gameday/internal/series"
)

// Metrics the engine itself writes, with k6's names so that scenario files
// and the judge read what they read before.
const (
	MetricReqs        = "http_reqs"          // counter: requests sent (tags: endpoint, journey, name, status)
	MetricReqFailed   = "http_req_failed"    // rate: no answer, or a status of 400 and above
	MetricReqDuration = "http_req_duration"  // trend, ms: from sending the request to the end of the body
	MetricIterations  = "iterations"         // counter: iterations that ended
	MetricDropped     = "dropped_iterations" // counter: iterations due that found no free virtual user
	MetricChecks      = "checks"             // rate: checks of journey files that held
)

// Tags name the series a sample falls in. An empty field is left out of
// the series. They are a comparable value so that the recorder keys its
// series by them without building strings.
type Tags struct {
	Endpoint string // route name: login, checkout…
	Journey  string // journey: login, browse, cart…
	Name     string // a journey file's step name; the storefront's journeys leave it empty
	Status   string // the HTTP status class of an answer: 2xx…5xx, or "0" for none (set by VU.Do)
	Code     string // the error code the shopper was shown (the storefront's envelope)
}

// Map returns the tags that are set, by their series names.
func (t Tags) Map() map[string]string {
	var m map[string]string
	set := func(k, v string) {
		if v == "" {
			return
		}
		if m == nil {
			m = make(map[string]string, 5)
		}
		m[k] = v
	}
	set(TagEndpoint, t.Endpoint)
	set(TagJourney, t.Journey)
	set(TagName, t.Name)
	set(TagStatus, t.Status)
	set(TagCode, t.Code)
	return m
}

// Recorder takes the samples of a load: Add records v of metric (of kind,
// one of the series.Kind* constants) with tags, taken at t. It is safe for
// concurrent use.
type Recorder interface {
	Add(t time.Time, metric, kind string, tags Tags, v float64)
}

// Script is what virtual users do: the storefront's shoppers, or the
// journeys of a journey file. Drive calls NewUser once for each virtual
// user, before its first iteration, from the goroutine that will run it.
type Script interface {
	NewUser(vu *VU) User
}

// User is one virtual user's state across iterations (a logged-in shopper
// stays logged in). Iterate runs one iteration; it returns when done or
// soon after ctx ends (the run stopped, or its graceful stop ran out).
// Calls for one User never overlap.
type User interface {
	Iterate(ctx context.Context, iter Iteration)
}

// Iteration is one scheduled start of a User.
type Iteration struct {
	N       int64     // number of this iteration in the whole load, from 0, unique across users
	Planned time.Time // when the schedule said it should start
}

// Partners is a Script that also has virtual users working for the whole
// load beside the arrivals (the storefront's merchants and drivers): Drive
// starts Partners() of them, each with its own VU, and calls Work once for
// each. The ctx given to Work ends once the arrivals are over and no
// iteration is in flight any more, or the graceful stop ran out, or the
// run was stopped.
type Partners interface {
	Script
	Partners() int
	NewPartner(vu *VU, i int) Partner
}

// Partner is a virtual user that works for the whole load.
type Partner interface {
	Work(ctx context.Context)
}

// DefaultTimeout is a request's timeout when VUConfig.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// VUConfig is what every virtual user of a load shares.
type VUConfig struct {
	Timeout  time.Duration // of one request, body included; 0: DefaultTimeout
	Recorder Recorder      // required
	Seed     uint64        // the users' random sources derive from it and their ID
}

// VU is one virtual user: its own HTTP client (keep-alive connections,
// cookie jar), its own random source, and the samples it records. A VU is
// used by one goroutine at a time.
type VU struct {
	ID     int        // from 1, unique in the load
	Rand   *rand.Rand // the user's own random source
	Client *http.Client

	timeout time.Duration
	rec     Recorder
}

// NewVU returns virtual user id of cfg. Its client keeps at most two idle
// connections per host, has a cookie jar and no overall timeout: Do bounds
// each request by cfg.Timeout.
func NewVU(id int, cfg VUConfig) *VU {
	jar, _ := cookiejar.New(nil) // never fails without options
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 0,
		ForceAttemptHTTP2:     false,
		// No Accept-Encoding of its own, and nothing unzipped behind the
		// journeys' back: what a journey asks for is what it gets.
		DisableCompression: true,
		ReadBufferSize:     4 << 10,
		WriteBufferSize:    4 << 10,
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &VU{
		ID:      id,
		Rand:    rand.New(rand.NewPCG(cfg.Seed, uint64(id))),
		Client:  &http.Client{Transport: tr, Jar: jar},
		timeout: timeout,
		rec:     cfg.Recorder,
	}
}

// Timeout is how long one request of this user may take.
func (vu *VU) Timeout() time.Duration { return vu.timeout }

// Close lets go of the user's idle connections.
func (vu *VU) Close() { vu.Client.CloseIdleConnections() }

// Response is the answer to one request: Status 0 and Err set when none came.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Err      error
	Duration time.Duration
}

// maxBody bounds what Do reads of an answer.
const maxBody = 8 << 20

// Do sends req within the user's timeout (and req's context), reads the
// whole body and records http_reqs, http_req_failed and http_req_duration
// with tags, Status set to the answer's class ("0" when none came). It
// never returns an error: a request that got no answer has Status 0 and
// Err set.
func (vu *VU) Do(req *http.Request, tags Tags) Response {
	return vu.do(vu.Client, req, tags)
}

// DoWithoutCookies is Do as another device of the same person would send
// req: over the user's connections, but without its cookie jar (no cookie
// sent, none kept).
func (vu *VU) DoWithoutCookies(req *http.Request, tags Tags) Response {
	return vu.do(&http.Client{Transport: vu.Client.Transport}, req, tags)
}

func (vu *VU) do(client *http.Client, req *http.Request, tags Tags) Response {
	ctx, cancel := context.WithTimeout(req.Context(), vu.timeout)
	defer cancel()
	req = req.WithContext(ctx)
	start := time.Now()
	resp, err := client.Do(req)
	var r Response
	if err == nil {
		var buf bytes.Buffer
		_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err == nil {
			r = Response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
		}
	}
	end := time.Now()
	if err != nil {
		r = Response{Err: err}
	}
	r.Duration = end.Sub(start)
	tags.Status = StatusClass(r.Status)
	vu.rec.Add(end, MetricReqs, series.KindCounter, tags, 1)
	vu.rec.Add(end, MetricReqFailed, series.KindRate, tags, boolValue(r.Status == 0 || r.Status >= 400))
	vu.rec.Add(end, MetricReqDuration, series.KindTrend, tags, float64(r.Duration)/float64(time.Millisecond))
	return r
}

// Count adds v to the counter metric.
func (vu *VU) Count(metric string, tags Tags, v float64) {
	vu.rec.Add(time.Now(), metric, series.KindCounter, tags, v)
}

// Rate records one sample of the rate metric: ok or not.
func (vu *VU) Rate(metric string, tags Tags, ok bool) {
	vu.rec.Add(time.Now(), metric, series.KindRate, tags, boolValue(ok))
}

// Trend records one value of the trend metric (milliseconds for times).
func (vu *VU) Trend(metric string, tags Tags, v float64) {
	vu.rec.Add(time.Now(), metric, series.KindTrend, tags, v)
}

func boolValue(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}

// StatusClass folds an HTTP status into the class the series keep in the
// status tag: 503 is "5xx"; 0 (no answer) is "0".
func StatusClass(status int) string {
	if status >= 100 && status <= 599 {
		return strconv.Itoa(status/100) + "xx"
	}
	return "0"
}

// Sleep waits d, or until ctx ends; it reports whether it waited d.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
