package auth

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// LoginStarted answers a login start or a resend. It has the same shape and
// values for registered and unregistered phones.
type LoginStarted struct {
	LoginID      string `json:"login_id"`
	ExpiresInS   int    `json:"expires_in_s"`   // the code's lifetime, from now
	ResendAfterS int    `json:"resend_after_s"` // the resend cooldown
}

// Verified is a successful verify: a new session token.
type Verified struct {
	Token      string `json:"token"`
	UserID     string `json:"user_id"`
	ExpiresInS int    `json:"expires_in_s"`
}

// Identity is the owner of a valid session. Status is mockstore.StatusActive
// or mockstore.StatusRestricted.
type Identity struct {
	UserID string `json:"user_id"`
	Phone  string `json:"phone"`
	Status string `json:"status"`
}

// Request bodies.
type (
	loginRequest struct {
		Phone   string `json:"phone"`
		Channel string `json:"channel,omitempty"`
		Client  string `json:"client,omitempty"`
	}
	verifyRequest struct {
		LoginID string `json:"login_id"`
		Code    string `json:"code"`
	}
	resendRequest struct {
		LoginID string `json:"login_id"`
		Channel string `json:"channel,omitempty"`
		Client  string `json:"client,omitempty"`
	}
	tokenRequest struct {
		Token string `json:"token"`
	}
)

// Client calls auth's API. Every method returns a *mockstore.Error when auth
// answered with an error and a *mockstore.UpstreamError when no answer came.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for auth at baseURL (normally a Toxiproxy
// proxy's address). A nil hc gets mockstore.NewClient(10 * time.Second),
// enough for a login start that waits for the OTP provider.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = mockstore.NewClient(10 * time.Second)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// SendOption qualifies a request for a code (StartLogin, Resend).
type SendOption func(*sendOptions)

type sendOptions struct{ client string }

// From names the client asking for the code (the shopper's address, as the
// gateway sees it; at most 64 printable characters), whom the per-client
// send limit counts. Without it auth counts the caller's own address.
func From(client string) SendOption { return func(o *sendOptions) { o.client = client } }

func sendOpts(opts []SendOption) sendOptions {
	var o sendOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// StartLogin starts a login for phone and sends a code on channel ("" means
// SMS). Unregistered phones get the same answer, and no message.
// Errors: invalid_request (malformed phone or unknown channel),
// rate_limited (429 with RetryAfter: too many codes asked for the phone or
// by the client, with otp_send_limits on; the same for unregistered
// phones), temporarily_unavailable (the send could not be queued),
// internal (a synchronous send failed).
func (c *Client) StartLogin(ctx context.Context, phone, channel string, opts ...SendOption) (LoginStarted, error) {
	var out LoginStarted
	req := loginRequest{Phone: phone, Channel: channel, Client: sendOpts(opts).client}
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/login", req, &out, nil)
	return out, err
}

// Verify checks code for loginID and opens a session. Errors: invalid_code
// (wrong code or unknown login), code_expired (past its lifetime, superseded
// by a resend, or already used), login_locked (too many wrong attempts),
// temporarily_unavailable (the session store failed; retry), internal.
func (c *Client) Verify(ctx context.Context, loginID, code string) (Verified, error) {
	var out Verified
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/login/verify", verifyRequest{LoginID: loginID, Code: code}, &out, nil)
	return out, err
}

// Resend issues a new code for loginID (the old one stops working) on
// channel ("" means the login's channel). Errors: resend_cooldown (with
// RetryAfter), rate_limited (as for StartLogin), not_found, login_locked,
// conflict (login already completed).
func (c *Client) Resend(ctx context.Context, loginID, channel string, opts ...SendOption) (LoginStarted, error) {
	var out LoginStarted
	req := resendRequest{LoginID: loginID, Channel: channel, Client: sendOpts(opts).client}
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/login/resend", req, &out, nil)
	return out, err
}

// Validate returns who owns token. Errors: unauthenticated (unknown, expired
// or revoked token; also a store failure when session_fallback is off),
// temporarily_unavailable (the store failed and session_fallback is on).
func (c *Client) Validate(ctx context.Context, token string) (Identity, error) {
	var out Identity
	err := mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/sessions/validate", tokenRequest{Token: token}, &out, nil)
	return out, err
}

// Logout revokes token; logging out an unknown token succeeds.
func (c *Client) Logout(ctx context.Context, token string) error {
	return mockstore.Call(ctx, c.hc, http.MethodPost, c.base+"/logout", tokenRequest{Token: token}, nil, nil)
}

// ReadAudit reads GET /audit/auth from auth's audit handler at auditBaseURL.
// A nil hc gets a client with a 30s timeout. Errors are as for Client's
// methods.
func ReadAudit(ctx context.Context, hc *http.Client, auditBaseURL string) (mockstore.AuthAudit, error) {
	if hc == nil {
		hc = mockstore.NewClient(30 * time.Second)
	}
	var a mockstore.AuthAudit
	err := mockstore.Call(ctx, hc, http.MethodGet, strings.TrimRight(auditBaseURL, "/")+"/audit/auth", nil, &a, nil)
	return a, err
}
