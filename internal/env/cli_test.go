package env

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/gameday/gameday/internal/fault"
	"github.com/gameday/gameday/mockstore"
)

// cliTool is Toxiproxy's own command-line client, a tool of this module
// (go.mod's tool directive), so the test runs the real toxiproxy-cli.
const cliTool = "github.com/Shopify/toxiproxy/v2/cmd/cli"

// cliRun runs toxiproxy-cli against the API at host and returns its output.
func cliRun(tb testing.TB, host string, args ...string) string {
	tb.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Skipf("toxiproxy-cli is run through `go tool` and there is no go command: %v", err)
	}
	cmd := exec.Command(goBin, append([]string{"tool", cliTool, "--host", host}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("toxiproxy-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestToxiproxyCLI(t *testing.T) {
	e, err := StartInproc(context.Background(), Options{Shoppers: 3})
	if e != nil {
		t.Cleanup(func() { _ = e.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	api := e.Info().Toxiproxy
	list := cliRun(t, api, "list")
	for _, l := range mockstore.Links() {
		if !strings.Contains(list, l.Proxy) {
			t.Errorf("toxiproxy-cli list does not show %s:\n%s", l.Proxy, list)
		}
	}
	cliRun(t, api, "toxic", "add", "-t", "latency", "-n", "slow", "-a", "latency=1500", "auth_sessions")
	fc := fault.NewClient(api)
	ts, err := fc.Toxics(context.Background(), "auth_sessions")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Name != "slow" || ts[0].Type != "latency" || ts[0].Attributes["latency"] != 1500.0 {
		t.Fatalf("after toxiproxy-cli toxic add, the API shows %+v", ts)
	}
	if out := cliRun(t, api, "inspect", "auth_sessions"); !strings.Contains(out, "slow") {
		t.Errorf("toxiproxy-cli inspect does not show the toxic:\n%s", out)
	}
	cliRun(t, api, "toxic", "remove", "-n", "slow", "auth_sessions")
	if ts, err := fc.Toxics(context.Background(), "auth_sessions"); err != nil || len(ts) != 0 {
		t.Errorf("after toxiproxy-cli toxic remove: %+v, %v", ts, err)
	}
	// Our own toxics are usable through the CLI too.
	cliRun(t, api, "toxic", "add", "-t", fault.HTTPErrorType, "-n", "errs", "-a", "status=503", "gateway_checkout")
	if ts, err := fc.Toxics(context.Background(), "gateway_checkout"); err != nil || len(ts) != 1 || ts[0].Type != fault.HTTPErrorType {
		t.Errorf("after adding our http_error through the CLI: %+v, %v", ts, err)
	}
}
