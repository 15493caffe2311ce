package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ForwardedForHeader names the shopper's address as the proxy in front of
// the gateway saw it.
const ForwardedForHeader = "X-Forwarded-For"

// clientAddr is the shopper's address, which the per-client OTP send limit
// counts. The gateway's TCP peer is the proxy in front of it (the
// client->gateway link), the same for every shopper, so the shopper's own
// address is the last one of X-Forwarded-For, the one that proxy added —
// believed only when the peer is such a proxy: on loopback (the inproc
// runtime, `gameday up`) or on a private network (the docker runtime's).
// From any other peer the header could be anyone's invention, and the
// peer's address is the client.
func clientAddr(r *http.Request) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	ip, err := netip.ParseAddr(peer)
	if err != nil || !(ip.IsLoopback() || ip.IsPrivate()) {
		return peer
	}
	vs := r.Header.Values(ForwardedForHeader)
	if len(vs) == 0 {
		return peer
	}
	hops := strings.Split(vs[len(vs)-1], ",")
	last, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1]))
	if err != nil {
		return peer
	}
	return last.Unmap().String()
}
