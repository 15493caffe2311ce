package mockstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// NewServer returns an http.Server for h with the timeouts every storefront
// server uses. The caller serves it on a listener it opened itself.
func NewServer(h http.Handler, logger *slog.Logger) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	if logger != nil {
		srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	}
	return srv
}

// NewClient returns an http.Client with an overall timeout, sized for many
// concurrent calls to one upstream.
func NewClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil, // never an environment proxy: upstreams are our own Toxiproxy proxies
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// UpstreamError is a call that got no answer: the connection was refused or
// reset, or the call timed out. For a call that changes state the outcome is
// unknown: the upstream may have done it.
type UpstreamError struct {
	Op      string // "POST http://127.0.0.1:1234/charges"
	Err     error
	Timeout bool // the call ran out of time (as opposed to a refused or reset connection)
}

func (e *UpstreamError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *UpstreamError) Unwrap() error { return e.Err }

// IsUnreachable reports whether err is (or wraps) an *UpstreamError.
func IsUnreachable(err error) bool {
	var ue *UpstreamError
	return errors.As(err, &ue)
}

// Call sends a JSON request and decodes a 2xx JSON answer into out (when out
// is not nil). in may be nil for no body. headers are added as given.
// A non-2xx answer returns the *Error from its envelope (see ReadError);
// no answer at all returns an *UpstreamError. A 2xx answer whose body does
// not decode is an *UpstreamError too (the body was cut on the way).
func Call(ctx context.Context, c *http.Client, method, url string, in, out any, headers map[string]string) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	op := method + " " + url
	resp, err := c.Do(req)
	if err != nil {
		return &UpstreamError{Op: op, Err: err, Timeout: isTimeout(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return ReadError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBody))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(out); err != nil {
		return &UpstreamError{Op: op, Err: fmt.Errorf("decode answer: %w", err), Timeout: isTimeout(err)}
	}
	return nil
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
