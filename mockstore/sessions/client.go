package sessions

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// Session is what the store holds for a token.
type Session struct {
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Audit is GET /audit/sessions: Live sessions now, and how many were ever
// Created, Deleted (by a DELETE while live) and Expired (purged after their
// TTL). At the moment of the read Live == Created - Deleted - Expired.
type Audit struct {
	Live    int `json:"live"`
	Created int `json:"created"`
	Deleted int `json:"deleted"`
	Expired int `json:"expired"`
}

// putRequest is the body of PUT /sessions/{token}.
type putRequest struct {
	UserID string `json:"user_id"`
	TTLS   int64  `json:"ttl_s"`
}

// Client calls the session store's API. Every method returns a
// *mockstore.Error when the store answered with an error and a
// *mockstore.UpstreamError when no answer came (for Put and Delete: the
// outcome is unknown).
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for the store at baseURL (normally a Toxiproxy
// proxy's address). A nil hc gets mockstore.NewClient(1 * time.Second).
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = mockstore.NewClient(time.Second)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Put stores token for userID for ttl, replacing what the token held. The
// TTL is sent in whole seconds, rounded up; it must be between 1s and MaxTTL
// (else invalid_request).
func (c *Client) Put(ctx context.Context, token, userID string, ttl time.Duration) error {
	secs := int64((ttl + time.Second - 1) / time.Second)
	return mockstore.Call(ctx, c.hc, http.MethodPut, c.url(token), putRequest{UserID: userID, TTLS: secs}, nil, nil)
}

// Get returns the live session of token; a *mockstore.Error with not_found
// when the token is unknown or its session expired.
func (c *Client) Get(ctx context.Context, token string) (Session, error) {
	var s Session
	err := mockstore.Call(ctx, c.hc, http.MethodGet, c.url(token), nil, &s, nil)
	return s, err
}

// Delete removes token's session; deleting an unknown token succeeds.
func (c *Client) Delete(ctx context.Context, token string) error {
	return mockstore.Call(ctx, c.hc, http.MethodDelete, c.url(token), nil, nil, nil)
}

func (c *Client) url(token string) string {
	return c.base + "/sessions/" + url.PathEscape(token)
}

// ReadAudit reads GET /audit/sessions from the store's audit handler at
// auditBaseURL. A nil hc gets a client with a 30s timeout. Errors are as for
// Client's methods.
func ReadAudit(ctx context.Context, hc *http.Client, auditBaseURL string) (Audit, error) {
	if hc == nil {
		hc = mockstore.NewClient(30 * time.Second)
	}
	var a Audit
	err := mockstore.Call(ctx, hc, http.MethodGet, strings.TrimRight(auditBaseURL, "/")+"/audit/sessions", nil, &a, nil)
	return a, err
}
