// Package httpkit is the HTTP side every storefront service shares: one
// router, whose misses and whose handlers' panics are answered in the
// storefront's error envelope like every other error, and one way for a
// handler to answer an error. The envelope itself, its codes and their
// statuses are mockstore's (mockstore.WriteError); this package only
// decides what to answer and what to log.
package httpkit

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gameday/gameday/mockstore"
)

// Errors answers a service's errors. The zero value logs nothing and
// answers every error as it is.
type Errors struct {
	// Log receives the failures of the service's own and, at level Debug,
	// the errors it answers on purpose; nil discards them.
	Log *slog.Logger
	// Internal, when not nil, is answered in place of a failure of the
	// service's own, for a service that knows better what those mean to a
	// caller (the wallet: a storage failure is worth a retry). The failure
	// itself is still logged.
	Internal *mockstore.Error
}

func (e Errors) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// Write answers err through mockstore.WriteError. A *mockstore.Error is
// answered as it is: the service chose it (a refusal, or an internal error
// on purpose), and it is logged at level Debug. Any other error is a failure
// of the service's own (a bug, a storage failure): it is logged at level
// Error with the request's method and path, and answered as e.Internal when
// that is set, else as mockstore.CodeInternal without its text.
func (e Errors) Write(w http.ResponseWriter, r *http.Request, err error) {
	var chosen *mockstore.Error
	if errors.As(err, &chosen) {
		e.log().Debug("error answered", "method", r.Method, "path", r.URL.Path, "code", chosen.Code, "message", chosen.Message)
	} else {
		e.log().Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		if e.Internal != nil {
			err = e.Internal
		}
	}
	mockstore.WriteError(w, err)
}

// Router is an http.ServeMux with method patterns whose every answer is
// the storefront's: an unknown route is answered 404 not_found, a known path
// asked with another method 405 method_not_allowed with the Allow header,
// and a handler's panic 500 internal (logged with the request's method and
// path), all in the error envelope, where the ServeMux would answer plain
// text or drop the connection. Register every route, in one place, before
// serving.
type Router struct {
	errs Errors
	mux  *http.ServeMux
}

// NewRouter returns a router without routes that answers its own errors
// with errs.
func NewRouter(errs Errors) *Router {
	return &Router{errs: errs, mux: http.NewServeMux()}
}

// Handle registers h for pattern, "METHOD /path" as http.ServeMux reads it.
// Like the ServeMux it panics on a malformed or conflicting pattern.
func (rt *Router) Handle(pattern string, h http.HandlerFunc) { rt.mux.HandleFunc(pattern, h) }

// Health registers GET /healthz, answering 200 {"service": service}.
func (rt *Router) Health(service string) {
	rt.Handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		mockstore.WriteJSON(w, http.StatusOK, map[string]string{"service": service})
	})
}

// ServeHTTP serves r with the route that matches it, or answers the miss.
// A panic after the handler began its answer adds the envelope to what was
// sent: the answer is broken either way, and the storefront's handlers
// answer in one write at their end.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		rt.errs.log().Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
		mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeInternal, "internal error"))
	}()
	h, pattern := rt.mux.Handler(r)
	if pattern != "" {
		rt.mux.ServeHTTP(w, r)
		return
	}
	// No route matches. The ServeMux's own answer tells a wrong method
	// (405, with the allowed ones in Allow) from an unknown path.
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		rt.errs.Write(w, r, mockstore.Errorf(mockstore.CodeMethodNotAllowed, "method %s not allowed on %s (allowed: %s)",
			r.Method, r.URL.Path, allow))
		return
	}
	rt.errs.Write(w, r, mockstore.Errorf(mockstore.CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
}

// headerProbe is a ResponseWriter that keeps only the status and headers of
// an answer.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
