package httpkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gameday/gameday/mockstore"
)

// answer is what a router answered.
type answer struct {
	status int
	header http.Header
	err    mockstore.Error // the envelope's error, when there is one
	body   string
}

func serve(tb testing.TB, h http.Handler, method, path string) answer {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	a := answer{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
	var env struct {
		Error *mockstore.Error `json:"error"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &env) == nil && env.Error != nil {
		a.err = *env.Error
	}
	return a
}

func newRouter(logs *bytes.Buffer) *Router {
	rt := NewRouter(Errors{Log: slog.New(slog.NewTextHandler(logs, nil))})
	rt.Health("svc")
	rt.Handle("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		mockstore.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	rt.Handle("DELETE /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	rt.Handle("POST /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	rt.Handle("POST /abort", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	return rt
}

func TestRouter(t *testing.T) {
	tests := []struct {
		name, method, path string
		status             int
		code               mockstore.Code
		allow              string
		body               string // a part of the body, for answers that are not errors
	}{
		{"health", "GET", "/healthz", 200, "", "", `{"service":"svc"}`},
		{"health by HEAD", "HEAD", "/healthz", 200, "", "", ""},
		{"a route", "GET", "/items/i1", 200, "", "", `{"id":"i1"}`},
		{"another method of it", "DELETE", "/items/i1", 204, "", "", ""},
		{"unknown path", "GET", "/nope", 404, mockstore.CodeNotFound, "", ""},
		{"root", "GET", "/", 404, mockstore.CodeNotFound, "", ""},
		{"deeper path", "GET", "/items/i1/x", 404, mockstore.CodeNotFound, "", ""},
		{"unclean unknown path", "GET", "/items//x/y", 404, mockstore.CodeNotFound, "", ""},
		{"wrong method", "PUT", "/items/i1", 405, mockstore.CodeMethodNotAllowed, "DELETE, GET, HEAD", ""},
		{"wrong method on health", "POST", "/healthz", 405, mockstore.CodeMethodNotAllowed, "GET, HEAD", ""},
		{"panic", "POST", "/panic", 500, mockstore.CodeInternal, "", ""},
	}
	var logs bytes.Buffer
	rt := newRouter(&logs)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := serve(t, rt, tt.method, tt.path)
			if a.status != tt.status || a.err.Code != tt.code || a.header.Get("Allow") != tt.allow {
				t.Fatalf("got %d %q Allow %q (%s), want %d %q Allow %q", a.status, a.err.Code, a.header.Get("Allow"), a.body, tt.status, tt.code, tt.allow)
			}
			if tt.code != "" && (a.err.Message == "" || a.header.Get("Content-Type") != "application/json") {
				t.Errorf("error answer %q, Content-Type %q: want the envelope with a message", a.body, a.header.Get("Content-Type"))
			}
			if !strings.Contains(a.body, tt.body) {
				t.Errorf("body %q, want it to hold %q", a.body, tt.body)
			}
		})
	}
	if got := serve(t, rt, "PUT", "/items/i1").err.Message; got != "method PUT not allowed on /items/i1 (allowed: DELETE, GET, HEAD)" {
		t.Errorf("405 message %q", got)
	}
	if got := serve(t, rt, "GET", "/nope").err.Message; got != "no route GET /nope" {
		t.Errorf("404 message %q", got)
	}
	if !strings.Contains(logs.String(), `msg="handler panic" method=POST path=/panic panic=boom`) {
		t.Errorf("the panic was not logged: %s", logs.String())
	}
}

// TestRouterAbort: http.ErrAbortHandler goes on to the server, which drops
// the connection as the handler asked.
func TestRouterAbort(t *testing.T) {
	var logs bytes.Buffer
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
		}
		if logs.Len() != 0 {
			t.Errorf("an abort was logged: %s", logs.String())
		}
	}()
	serve(t, newRouter(&logs), "POST", "/abort")
}

func TestErrorsWrite(t *testing.T) {
	unavailable := mockstore.Retry(mockstore.CodeUnavailable, 1, "storage unavailable")
	tests := []struct {
		name     string
		internal *mockstore.Error
		err      error
		status   int
		code     mockstore.Code
		log      string // what is logged, "" for nothing at level Info and above
	}{
		{"refusal", nil, mockstore.Errorf(mockstore.CodeInvalidRequest, "bad"), 400, mockstore.CodeInvalidRequest, ""},
		{"failure", nil, errors.New("disk on fire"), 500, mockstore.CodeInternal, `level=ERROR msg="request failed" method=POST path=/x err="disk on fire"`},
		{"wrapped failure", nil, fmt.Errorf("read: %w", errors.New("disk on fire")), 500, mockstore.CodeInternal, `err="read: disk on fire"`},
		{"internal error on purpose", nil, mockstore.Errorf(mockstore.CodeInternal, "internal error"), 500, mockstore.CodeInternal, ""},
		{"wrapped refusal", nil, fmt.Errorf("check: %w", mockstore.Errorf(mockstore.CodeConflict, "no")), 409, mockstore.CodeConflict, ""},
		{"failure answered as Internal", unavailable, errors.New("disk on fire"), 503, mockstore.CodeUnavailable, `err="disk on fire"`},
		{"refusal not answered as Internal", unavailable, mockstore.Errorf(mockstore.CodeNotFound, "none"), 404, mockstore.CodeNotFound, ""},
		{"internal error on purpose not answered as Internal", unavailable, mockstore.Errorf(mockstore.CodeInternal, "internal error"), 500, mockstore.CodeInternal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			e := Errors{Log: slog.New(slog.NewTextHandler(&logs, nil)), Internal: tt.internal}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.Write(w, r, tt.err) })
			a := serve(t, h, "POST", "/x")
			if a.status != tt.status || a.err.Code != tt.code {
				t.Fatalf("got %d %s, want %d %s", a.status, a.err.Code, tt.status, tt.code)
			}
			if strings.Contains(a.body, "disk on fire") {
				t.Errorf("a failure's text reached the caller: %s", a.body)
			}
			if !strings.Contains(logs.String(), tt.log) || (tt.log == "" && logs.Len() != 0) {
				t.Errorf("logged %q, want %q", logs.String(), tt.log)
			}
		})
	}
	// The zero value discards its logs.
	serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { Errors{}.Write(w, r, errors.New("x")) }), "GET", "/")
}
