package gateway

import (
	"net/http/httptest"
	"testing"
)

// TestClientAddr: X-Forwarded-For names the client only when the gateway's
// peer is the proxy in front of it (loopback or a private network); from
// anyone else the header is ignored.
func TestClientAddr(t *testing.T) {
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"loopback peer, no header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"loopback peer names the client", "127.0.0.1:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"the last hop is the proxy's", "127.0.0.1:5000", []string{"10.0.0.1, 203.0.113.7"}, "203.0.113.7"},
		{"the last header is the proxy's", "[::1]:5000", []string{"10.0.0.1", "203.0.113.8"}, "203.0.113.8"},
		{"private peer (docker network)", "172.18.0.3:5000", []string{"100.64.0.9"}, "100.64.0.9"},
		{"public peer: header ignored", "198.51.100.4:5000", []string{"203.0.113.7"}, "198.51.100.4"},
		{"garbage header", "127.0.0.1:5000", []string{"not an address"}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/v1/login", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add(ForwardedForHeader, v)
			}
			if got := clientAddr(r); got != tc.want {
				t.Errorf("clientAddr = %q, want %q", got, tc.want)
			}
		})
	}
}
