package probe

import (
	"maps"
	"testing"

	"github.com/gameday/gameday/internal/env"
)

// TestTargetOf: every placeholder a probe may name comes from its field of
// the environment's info: {service.S} from Services, {entry.S} from the
// Entries of the links client->S; an empty value is none.
func TestTargetOf(t *testing.T) {
	info := env.Info{
		Gateway:   "http://127.0.0.1:1",
		Toxiproxy: "http://127.0.0.1:2/",
		Audit:     map[string]string{"wallet": "http://127.0.0.1:3"},
		Services:  map[string]string{"shop": "http://127.0.0.1:4", "stock": "http://127.0.0.1:5"},
		Entries:   map[string]string{"client->shop": "http://127.0.0.1:6"},
		Dir:       "/run",
	}
	got := TargetOf(info)
	want := map[string]string{
		"gateway":      "http://127.0.0.1:1",
		"toxiproxy":    "http://127.0.0.1:2",
		"audit.wallet": "http://127.0.0.1:3",
		"service.shop": "http://127.0.0.1:4", "service.stock": "http://127.0.0.1:5",
		"entry.shop": "http://127.0.0.1:6",
	}
	if !maps.Equal(got.Values, want) || got.Stores != "/run" {
		t.Errorf("TargetOf = %v in %s\nwant %v in /run", got.Values, got.Stores, want)
	}
	u, err := got.URL("{entry.shop}/healthz")
	if err != nil || u != "http://127.0.0.1:6/healthz" {
		t.Errorf("URL(entry) = %q, %v", u, err)
	}
}
