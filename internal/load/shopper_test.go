package load

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/mockstore"
)

func TestShopperEnv(t *testing.T) {
	info := env.Info{Gateway: "http://127.0.0.1:1", OTPInbox: "http://127.0.0.1:2"}
	ds := mockstore.Seed(5, 10)
	tests := []struct {
		name    string
		info    env.Info
		shape   Shape
		want    map[string]string // besides the URLs and the data file
		wantErr bool
	}{
		{name: "script defaults", info: info, want: map[string]string{}},
		{name: "shape", info: info, shape: Shape{Rate: 2.5, Duration: 90 * time.Second},
			want: map[string]string{EnvRate: "2.5", EnvDuration: "1m30s", EnvVUs: "25"}},
		{name: "vus given", info: info, shape: Shape{Rate: 15, VUs: 300},
			want: map[string]string{EnvRate: "15", EnvVUs: "300"}},
		{name: "no gateway", info: env.Info{OTPInbox: "http://x"}, wantErr: true},
		{name: "negative rate", info: info, shape: Shape{Rate: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			got, err := ShopperEnv(dir, tt.info, ds, tt.shape)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			want := map[string]string{EnvGateway: info.Gateway, EnvInbox: info.OTPInbox, EnvData: filepath.Join(dir, DataFile)}
			for k, v := range tt.want {
				want[k] = v
			}
			if len(got) != len(want) {
				t.Errorf("env %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			b, err := os.ReadFile(got[EnvData])
			if err != nil {
				t.Fatal(err)
			}
			var d Data
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("data file: %v", err)
			}
			if len(d.Users) != len(ds.Users) || d.Users[0].Phone != ds.Users[0].Phone || len(d.Products) != len(ds.Products) {
				t.Errorf("data file does not hold the dataset: %+v", d)
			}
			// Every courier must have an address it serves.
			for _, c := range d.Couriers {
				if !slices.ContainsFunc(d.Addresses, func(a mockstore.Address) bool { return slices.Contains(c.Areas, a.Area) }) {
					t.Errorf("no address for courier %s (areas %v)", c.ID, c.Areas)
				}
			}
		})
	}
}

func TestWriteScript(t *testing.T) {
	fsys := fstest.MapFS{"k6/shopper.js": {Data: []byte("export default function () {}\n")}}
	dir := t.TempDir()
	got, err := WriteScript(dir, fsys, "k6/shopper.js")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "shopper.js"); got != want {
		t.Errorf("path %q, want %q", got, want)
	}
	if b, err := os.ReadFile(got); err != nil || string(b) != "export default function () {}\n" {
		t.Errorf("copy %q, %v", b, err)
	}
	if _, err := WriteScript(dir, fsys, "k6/missing.js"); err == nil {
		t.Error("no error for a missing script")
	}
}
