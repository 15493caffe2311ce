package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/httpkit"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
)

// Defaults and limits of Config.
const (
	DefaultSessionsTimeout = time.Second
	DefaultOTPTimeout      = 5 * time.Second
	DefaultCodeTTL         = 5 * time.Minute
	MaxCodeTTL             = 5 * time.Minute
	DefaultResendCooldown  = 30 * time.Second
	DefaultFallbackAfter   = 3 * time.Second
	DefaultSessionTTL      = 24 * time.Hour
	DefaultSendWorkers     = 8
	DefaultSendQueue       = 1024

	// The OTP send limits of otp_send_limits. They are sized for the
	// harness's compressed time, where one shopper's phone logs in every few
	// seconds and a fault of 20 s can leave a dozen unverified codes behind;
	// a shop in production would rather allow about 5 per phone in 15 min.
	// Verified logins stop their sends counting (see sendLimiter), so only
	// codes nobody entered use them up.
	DefaultSendWindow     = time.Minute
	DefaultSendsPerPhone  = 30
	DefaultSendsPerClient = 150

	maxAttempts = 5 // wrong attempts before a login locks
	retryAfterS = 1 // Retry-After of temporarily_unavailable answers
)

// Config configures auth. Zero durations and sizes take the defaults above.
type Config struct {
	// DBPath is auth's SQLite file; it is created when missing.
	DBPath string
	// Dataset provides the users (phone, status).
	Dataset mockstore.Dataset
	// SessionsURL and OTPURL are the base URLs of the session store and the
	// OTP provider: in every runtime, Toxiproxy proxies.
	SessionsURL string
	OTPURL      string
	// SessionsTimeout bounds each session-store call (default 1s).
	SessionsTimeout time.Duration
	// OTPTimeout bounds each send to the provider (default 5s).
	OTPTimeout time.Duration
	// CodeTTL is a code's lifetime from its issue (default and max 5m).
	CodeTTL time.Duration
	// ResendCooldown is the least time between two codes of a login (default 30s).
	ResendCooldown time.Duration
	// FallbackAfter is how long an SMS may go unacknowledged before the code
	// also goes out by WhatsApp, with otp_fallback_channel on (default 3s).
	FallbackAfter time.Duration
	// SessionTTL is a session's lifetime (default 24h, at most sessions.MaxTTL).
	SessionTTL time.Duration
	// SendWorkers and SendQueue size the asynchronous sender used with
	// async_otp on (defaults 8 and 1024).
	SendWorkers int
	SendQueue   int
	// SendWindow, SendsPerPhone and SendsPerClient are the OTP send limits
	// used with otp_send_limits on: at most SendsPerPhone codes asked for
	// one phone, and SendsPerClient by one client (the address the gateway
	// names), within any SendWindow; codes of a login that was then verified
	// do not count. Defaults DefaultSendWindow, DefaultSendsPerPhone and
	// DefaultSendsPerClient.
	SendWindow     time.Duration
	SendsPerPhone  int
	SendsPerClient int
	// Features switches the defences; nil has every one off.
	Features mockstore.Features
	// Logger receives auth's logs; nil discards them.
	Logger *slog.Logger
	// Now is auth's clock for code expiry, cooldowns and session times; nil
	// means time.Now.
	Now func() time.Time
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.SessionsTimeout, DefaultSessionsTimeout)
	def(&c.OTPTimeout, DefaultOTPTimeout)
	def(&c.CodeTTL, DefaultCodeTTL)
	def(&c.ResendCooldown, DefaultResendCooldown)
	def(&c.FallbackAfter, DefaultFallbackAfter)
	def(&c.SessionTTL, DefaultSessionTTL)
	if c.SendWorkers == 0 {
		c.SendWorkers = DefaultSendWorkers
	}
	if c.SendQueue == 0 {
		c.SendQueue = DefaultSendQueue
	}
	def(&c.SendWindow, DefaultSendWindow)
	if c.SendsPerPhone == 0 {
		c.SendsPerPhone = DefaultSendsPerPhone
	}
	if c.SendsPerClient == 0 {
		c.SendsPerClient = DefaultSendsPerClient
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var errs []error
	if c.DBPath == "" {
		errs = append(errs, errors.New("DBPath is required"))
	}
	if c.SessionsURL == "" || c.OTPURL == "" {
		errs = append(errs, errors.New("SessionsURL and OTPURL are required"))
	}
	if c.CodeTTL < 0 || c.CodeTTL > MaxCodeTTL {
		errs = append(errs, fmt.Errorf("CodeTTL %v: want at most %v", c.CodeTTL, MaxCodeTTL))
	}
	if c.SessionTTL < time.Second || c.SessionTTL > sessions.MaxTTL {
		errs = append(errs, fmt.Errorf("SessionTTL %v: want 1s..%v", c.SessionTTL, sessions.MaxTTL))
	}
	for name, d := range map[string]time.Duration{"SessionsTimeout": c.SessionsTimeout, "OTPTimeout": c.OTPTimeout,
		"ResendCooldown": c.ResendCooldown, "FallbackAfter": c.FallbackAfter, "SendWindow": c.SendWindow} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must not be negative", name, d))
		}
	}
	if c.SendWorkers < 0 || c.SendQueue < 0 {
		errs = append(errs, errors.New("SendWorkers and SendQueue must not be negative"))
	}
	if c.SendsPerPhone < 0 || c.SendsPerClient < 0 {
		errs = append(errs, errors.New("SendsPerPhone and SendsPerClient must not be negative"))
	}
	return c, errors.Join(errs...)
}

// Service is auth.
type Service struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	st       *store
	sessions *sessions.Client
	otp      *otp.Client
	codeKey  []byte // HMAC key of code hashes, random per process
	errs     httpkit.Errors
	api      http.Handler
	auditAPI http.Handler

	loginMu [64]sync.Mutex // per-login serialization of verify and resend, by hash
	limits  *sendLimiter   // nil with otp_send_limits off

	// Test seams, nil in every Service that New returns: only auth's own
	// tests set them (export_test.go), to build the rule-breaking auths
	// that prove scenarios/otp-rules.yaml can fail. No Config field, flag
	// or scenario reaches them. sent is called once the provider
	// acknowledged a send of a login's code (by its hash); verifying as a
	// verify of a code begins, under the login's lock.
	sent      func(ctx context.Context, loginID string, codeHash []byte)
	verifying func(ctx context.Context, loginID string, codeHash []byte)

	jobs    chan sendJob
	pending atomic.Int64 // queued or running send jobs (tests wait on it)
	baseCtx context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // workers and background sends

	closeOnce sync.Once
	closeErr  error
}

// New opens auth's store, seeds the users of cfg.Dataset and starts the
// sender workers. It fails on an invalid Config, a dataset it cannot store
// (such as a phone used twice) or a store that cannot be opened.
func New(ctx context.Context, cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("auth config: %w", err)
	}
	log := cfg.Logger.With("service", mockstore.ServiceAuth)
	st, err := openStore(ctx, cfg.DBPath, log)
	if err != nil {
		return nil, err
	}
	if err := st.seedUsers(ctx, cfg.Dataset.Users); err != nil {
		_ = st.db.Close()
		return nil, fmt.Errorf("seed users: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		_ = st.db.Close()
		return nil, fmt.Errorf("code key: %w", err)
	}
	s := &Service{
		cfg:      cfg,
		log:      log,
		now:      cfg.Now,
		st:       st,
		sessions: sessions.NewClient(cfg.SessionsURL, mockstore.NewClient(cfg.SessionsTimeout)),
		otp:      otp.NewClient(cfg.OTPURL, mockstore.NewClient(cfg.OTPTimeout)),
		codeKey:  key,
		jobs:     make(chan sendJob, cfg.SendQueue),
		errs:     httpkit.Errors{Log: log},
	}
	if cfg.Features.On(mockstore.OTPSendLimits) {
		s.limits = newSendLimiter(cfg.SendWindow, cfg.SendsPerPhone, cfg.SendsPerClient)
	}
	s.api, s.auditAPI = s.routes()
	// The workers outlive New's ctx: they stop at Close.
	s.baseCtx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for range cfg.SendWorkers {
		s.wg.Add(1)
		go s.sendWorker()
	}
	return s, nil
}

// Close stops the workers (cancelling sends in flight) and closes the store.
// It is safe to call more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.closeErr = s.st.db.Close()
	})
	return s.closeErr
}

// Handler returns auth's API: POST /login, /login/verify (and GET
// /login/verify?login_id=&code=, the WhatsApp link), /login/resend,
// /sessions/validate, /logout, and GET /healthz.
func (s *Service) Handler() http.Handler { return s.api }

// AuditHandler returns the audit routes: GET /audit/auth, GET
// /audit/accounts.
func (s *Service) AuditHandler() http.Handler { return s.auditAPI }

// routes registers every route in one place and returns the API and audit
// handlers.
func (s *Service) routes() (api, audit http.Handler) {
	m := httpkit.NewRouter(s.errs)
	m.Health(mockstore.ServiceAuth)
	m.Handle("POST /login", s.handleLogin)
	m.Handle("POST /login/verify", s.handleVerify)
	m.Handle("GET /login/verify", s.handleVerifyLink)
	m.Handle("POST /login/resend", s.handleResend)
	m.Handle("POST /sessions/validate", s.handleValidate)
	m.Handle("POST /logout", s.handleLogout)

	a := httpkit.NewRouter(s.errs)
	a.Handle("GET /audit/auth", s.handleAudit)
	a.Handle("GET /audit/accounts", s.handleAccounts)
	return m, a
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if err := mockstore.DecodeJSON(w, r, &in); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if in.Channel == "" {
		in.Channel = otp.ChannelSMS
	}
	if err := otp.CheckPhone(in.Phone); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := otp.CheckChannel(in.Channel); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := checkClient(in.Client); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	out, err := s.startLogin(r.Context(), in.Phone, in.Channel, clientOf(r, in.Client))
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusAccepted, out)
}

func (s *Service) handleVerify(w http.ResponseWriter, r *http.Request) {
	var in verifyRequest
	if err := mockstore.DecodeJSON(w, r, &in); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	s.verifyAndAnswer(w, r, in)
}

// handleVerifyLink is the WhatsApp login link being opened: a verify with
// the link's login_id and code, under the same rules.
func (s *Service) handleVerifyLink(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "login_id" && k != "code" {
			s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeInvalidRequest, "unknown query parameter %q (allowed: login_id, code)", clip(k)))
			return
		}
		if len(q[k]) != 1 {
			s.errs.Write(w, r, mockstore.Errorf(mockstore.CodeInvalidRequest, "query parameter %q given %d times", k, len(q[k])))
			return
		}
	}
	s.verifyAndAnswer(w, r, verifyRequest{LoginID: q.Get("login_id"), Code: q.Get("code")})
}

func (s *Service) verifyAndAnswer(w http.ResponseWriter, r *http.Request, in verifyRequest) {
	if err := checkLoginID(in.LoginID); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := otp.CheckCode(in.Code); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	out, err := s.verify(r.Context(), in.LoginID, in.Code)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleResend(w http.ResponseWriter, r *http.Request) {
	var in resendRequest
	if err := mockstore.DecodeJSON(w, r, &in); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := checkLoginID(in.LoginID); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if in.Channel != "" {
		if err := otp.CheckChannel(in.Channel); err != nil {
			s.errs.Write(w, r, err)
			return
		}
	}
	if err := checkClient(in.Client); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	out, err := s.resend(r.Context(), in.LoginID, in.Channel, clientOf(r, in.Client))
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusAccepted, out)
}

func (s *Service) handleValidate(w http.ResponseWriter, r *http.Request) {
	var in tokenRequest
	if err := mockstore.DecodeJSON(w, r, &in); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := checkToken(in.Token); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	id, err := s.validate(r.Context(), in.Token)
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, id)
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	var in tokenRequest
	if err := mockstore.DecodeJSON(w, r, &in); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := checkToken(in.Token); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	if err := s.logout(r.Context(), in.Token); err != nil {
		s.errs.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleAccounts(w http.ResponseWriter, r *http.Request) {
	us, err := s.st.accounts(r.Context())
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, us)
}

func (s *Service) handleAudit(w http.ResponseWriter, r *http.Request) {
	a, err := s.st.audit(r.Context())
	if err != nil {
		s.errs.Write(w, r, err)
		return
	}
	mockstore.WriteJSON(w, http.StatusOK, a)
}

const (
	maxLoginIDLen = 128
	maxTokenLen   = 512
	maxClientLen  = 64
)

func checkClient(c string) error {
	if c != "" && !printable(c, maxClientLen) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "client must be 1..%d printable ASCII characters", maxClientLen)
	}
	return nil
}

// clientOf is who asked for a code, for the per-client send limit: the
// client the caller named (the gateway names the shopper's address), else
// the caller's own address.
func clientOf(r *http.Request, named string) string {
	if named != "" {
		return named
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func checkLoginID(id string) error {
	if !printable(id, maxLoginIDLen) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "login_id must be 1..%d printable ASCII characters", maxLoginIDLen)
	}
	return nil
}

func checkToken(t string) error {
	if !printable(t, maxTokenLen) {
		return mockstore.Errorf(mockstore.CodeInvalidRequest, "token must be 1..%d printable ASCII characters", maxTokenLen)
	}
	return nil
}

// printable reports whether v is 1..max bytes of printable ASCII, no spaces.
func printable(v string, max int) bool {
	if v == "" || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= 0x20 || v[i] >= 0x7f {
			return false
		}
	}
	return true
}

func clip(v string) string {
	if len(v) > 32 {
		return v[:32] + "…"
	}
	return v
}
