package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gameday/gameday/mockstore"
)

// auditLog counts what shoppers were told.
type auditLog struct {
	mu            sync.Mutex
	responses     map[string]int
	bare5xx       int
	forcedLogouts int
	crossUser     int
	falseRefusals int
}

func newAuditLog() *auditLog { return &auditLog{responses: map[string]int{}} }

func (a *auditLog) response(status int, code mockstore.Code, retryAfter string) {
	key := strconv.Itoa(status)
	if status >= 400 {
		if code == "" {
			code = "none"
		}
		key += ":" + string(code)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.responses[key]++
	if status >= 500 && (code == "none" || code == mockstore.CodeInternal || retryAfter == "") {
		a.bare5xx++
	}
}

func (a *auditLog) forcedLogout() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forcedLogouts++
}

func (a *auditLog) falseRefusal() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.falseRefusals++
}

func (a *auditLog) crossUserData() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.crossUser++
}

// Audit returns what shoppers were told so far: responses by "status" (2xx,
// 3xx) or "status:code", bare 5xx, forced logouts, responses withheld because
// they carried another user's data, and per upstream the breaker openings,
// the attempts sent and how many of them were retries.
func (s *Service) Audit() mockstore.GatewayAudit {
	s.audit.mu.Lock()
	out := mockstore.GatewayAudit{
		Responses:       make(map[string]int, len(s.audit.responses)),
		Bare5xx:         s.audit.bare5xx,
		ForcedLogouts:   s.audit.forcedLogouts,
		CrossUserData:   s.audit.crossUser,
		FalseRefusals:   s.audit.falseRefusals,
		BreakerOpenings: map[string]int{},
		UpstreamCalls:   map[string]int{},
		Retries:         map[string]int{},
		UpstreamSeconds: map[string][]mockstore.UpstreamSecond{},
	}
	for k, v := range s.audit.responses {
		out.Responses[k] = v
	}
	s.audit.mu.Unlock()
	for name, u := range s.up {
		out.BreakerOpenings[name] = 0
		if u.breaker != nil {
			out.BreakerOpenings[name] = u.breaker.Openings()
		}
		out.UpstreamCalls[name] = int(u.calls.Load())
		out.Retries[name] = int(u.retries.Load())
		out.UpstreamSeconds[name] = u.seconds.snapshot()
	}
	return out
}

func (s *Service) handleAudit(w http.ResponseWriter, r *http.Request) {
	mockstore.WriteJSON(w, http.StatusOK, s.Audit())
}

// recorder remembers what a handler answered, for the audit: the status,
// the Retry-After, and the code of an error answer, read from the envelope
// the shopper got, whichever code path wrote it.
type recorder struct {
	http.ResponseWriter
	status     int
	retryAfter string
	wrote      bool
	errBody    []byte // the start of an error answer's body
}

// maxErrBody is as much of an error answer as the recorder keeps: the
// envelope's code comes first and is short.
const maxErrBody = 4 << 10

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.wrote = true
		r.status = status
		r.retryAfter = r.Header().Get("Retry-After")
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	if r.status >= 400 && len(r.errBody) < maxErrBody {
		r.errBody = append(r.errBody, b[:min(len(b), maxErrBody-len(r.errBody))]...)
	}
	return r.ResponseWriter.Write(b)
}

// code returns the code of the error envelope answered, "" when the answer
// is not one.
func (r *recorder) code() mockstore.Code {
	var env struct {
		Error struct {
			Code mockstore.Code `json:"code"`
		} `json:"error"`
	}
	if len(r.errBody) == 0 || json.Unmarshal(r.errBody, &env) != nil {
		return ""
	}
	return env.Error.Code
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// record counts every answer of the public API (not /healthz).
func (s *Service) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if !rec.wrote {
			rec.status = http.StatusOK
		}
		s.audit.response(rec.status, rec.code(), rec.retryAfter)
	})
}

// Maintenance is the operator's planned-maintenance switch. While On, every
// /api/v1 route answers 503 maintenance with Message and a Retry-After of
// RetryAfterS; nobody is logged out and /healthz stays up.
type Maintenance struct {
	On          bool   `json:"on"`
	RetryAfterS int    `json:"retry_after_s"`
	Message     string `json:"message"`
}

// Maintenance limits and defaults.
const (
	DefaultMaintenanceRetryAfter = 60
	DefaultMaintenanceMessage    = "The store is under planned maintenance. Please try again later."
	maxMaintenanceRetryAfter     = 86_400
	maxMaintenanceMessage        = 1_000
)

// SetMaintenance switches maintenance. A zero RetryAfterS or empty Message
// gets the default. It returns an invalid_request *mockstore.Error for a
// RetryAfterS outside 0..86400 or a Message over 1000 bytes, and changes
// nothing then.
func (s *Service) SetMaintenance(m Maintenance) (Maintenance, error) {
	if m.RetryAfterS < 0 || m.RetryAfterS > maxMaintenanceRetryAfter {
		return Maintenance{}, mockstore.Errorf(mockstore.CodeInvalidRequest, "retry_after_s %d outside 0..%d", m.RetryAfterS, maxMaintenanceRetryAfter)
	}
	if len(m.Message) > maxMaintenanceMessage {
		return Maintenance{}, mockstore.Errorf(mockstore.CodeInvalidRequest, "message over %d bytes", maxMaintenanceMessage)
	}
	if m.RetryAfterS == 0 {
		m.RetryAfterS = DefaultMaintenanceRetryAfter
	}
	if strings.TrimSpace(m.Message) == "" {
		m.Message = DefaultMaintenanceMessage
	}
	if !m.On {
		m = Maintenance{}
	}
	s.maint.Store(&m)
	s.log.Info("maintenance switched", "on", m.On, "retry_after_s", m.RetryAfterS)
	return m, nil
}

func (s *Service) handleGetMaintenance(w http.ResponseWriter, r *http.Request) {
	mockstore.WriteJSON(w, http.StatusOK, s.maint.Load())
}

func (s *Service) handleSetMaintenance(w http.ResponseWriter, r *http.Request) {
	var m Maintenance
	if err := mockstore.DecodeJSON(w, r, &m); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	m, err := s.SetMaintenance(m)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, m)
}

// maintenance answers every /api/v1 route 503 maintenance while it is on.
func (s *Service) maintenance(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := s.maint.Load()
		if m.On && (r.URL.Path == "/api/v1" || strings.HasPrefix(r.URL.Path, "/api/v1/")) {
			s.errs.Write(w, r, mockstore.Retry(mockstore.CodeMaintenance, m.RetryAfterS, "%s", m.Message))
			return
		}
		next.ServeHTTP(w, r)
	})
}
