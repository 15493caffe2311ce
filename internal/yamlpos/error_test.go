package yamlpos

import "testing"

func TestSuggest(t *testing.T) {
	values := []string{"latency", "down", "bandwidth", "reset_peer"}
	tests := []struct{ got, want string }{
		{"latncy", "latency"},
		{"Latency", "latency"},
		{"dwon", "down"},
		{"reset-peer", "reset_peer"},
		{"x", ""},
		{"latency", ""},
		{"completely_different", ""},
	}
	for _, tt := range tests {
		t.Run(tt.got, func(t *testing.T) {
			if got := Suggest(tt.got, values); got != tt.want {
				t.Errorf("Suggest(%q) = %q, want %q", tt.got, got, tt.want)
			}
		})
	}
}
