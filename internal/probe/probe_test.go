package probe

import (
	"context"
	"database/sql"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gameday/gameday/internal/scenario"
)

// probeCheck parses one probe check of a 10 s scenario.
func probeCheck(tb testing.TB, check string) scenario.Check {
	tb.Helper()
	sc, err := scenario.Parse("t.yaml", []byte("load: {duration: 10s}\nchecks:\n  - "+strings.ReplaceAll(check, "\n", "\n    ")+"\n"))
	if err != nil {
		tb.Fatal(err)
	}
	return sc.Checks[0]
}

func TestRunHTTP(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte(`{"service":"gateway"}`))
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	tgt := Target{Values: map[string]string{"gateway": srv.URL, "audit.wallet": closed}}

	c := probeCheck(t, "probe: http\nurl: \"{gateway}/healthz\"\nwhen: before\nexpect: status == 200 && body.service == \"gateway\"")
	r := Run(context.Background(), c, tgt)
	if !r.OK || r.Err != "" || r.Answer != `200 {"service":"gateway"}` || r.Check != c.Name || r.At.IsZero() {
		t.Errorf("a good answer: %+v", r)
	}
	status.Store(503)
	r = Run(context.Background(), c, tgt)
	if r.OK || r.Err != "" || !strings.HasPrefix(r.Answer, "503 ") || r.NoAnswer() {
		t.Errorf("a 503: %+v", r)
	}
	c = probeCheck(t, "probe: http\nurl: \"{audit.wallet}/audit/totals\"\nwhen: after\nexpect: status == 200")
	r = Run(context.Background(), c, tgt)
	if r.OK || !r.NoAnswer() || !strings.Contains(r.Err, "refused") {
		t.Errorf("nothing listening: %+v", r)
	}
	c = probeCheck(t, "probe: http\nurl: \"{audit.auth}/audit/auth\"\nwhen: after\nexpect: status == 200")
	r = Run(context.Background(), c, tgt)
	if r.OK || !strings.Contains(r.Err, "no value for {audit.auth}") {
		t.Errorf("a placeholder the environment does not give: %+v", r)
	}
	// An expression that fails on the answer fails the run, with why.
	status.Store(200)
	c = probeCheck(t, "probe: http\nurl: \"{gateway}/\"\nwhen: after\nexpect: body.service.x == 1")
	r = Run(context.Background(), c, tgt)
	if r.OK || !strings.HasPrefix(r.Err, "expect: ") || r.NoAnswer() {
		t.Errorf("an expression that cannot be evaluated: %+v", r)
	}
}

func TestRunHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := probeCheck(t, "probe: http\nurl: \"{gateway}/\"\nwhen: after\ntimeout: 200ms\nexpect: status == 200")
	r := Run(context.Background(), c, Target{Values: map[string]string{"gateway": srv.URL}})
	if r.OK || !r.NoAnswer() || !strings.Contains(r.Err, "deadline") || r.Took < 200*time.Millisecond || r.Took > 2*time.Second {
		t.Errorf("a hanging target: %+v", r)
	}
}

func TestRunSQL(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "wallet.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE ledger (id INTEGER PRIMARY KEY, account TEXT, amount INTEGER)",
		"INSERT INTO ledger (account, amount) VALUES ('u1', 500), ('u2', -500)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	_ = db.Close()
	tgt := Target{Stores: dir}
	tests := []struct {
		check  string
		ok     bool
		answer string
		err    string
	}{
		{"db: wallet.db\nquery: SELECT count(*) AS n, sum(amount) AS total FROM ledger\nexpect: row.n == 2 && row.total == 0", true, `1 row: {"n":2,"total":0}`, ""},
		{"db: wallet.db\nquery: SELECT account, amount FROM ledger ORDER BY id\nexpect: len(rows) == 2 && rows[1].account == \"u2\" && rows[1].amount < 0", true, `2 rows: {"account":"u1","amount":500}`, ""},
		{"db: wallet.db\nquery: SELECT amount FROM ledger WHERE amount < 0\nexpect: len(rows) == 0", false, `1 row: {"amount":-500}`, ""},
		{"db: wallet.db\nquery: SELECT * FROM ledger WHERE 0\nexpect: row == nil && len(rows) == 0", true, "0 rows", ""},
		{"db: wallet.db\nquery: SELECT * FROM nowhere\nexpect: true", false, "", "no such table: nowhere"},
		{"db: orders.db\nquery: SELECT 1\nexpect: true", false, "", "open orders.db"},
		// Read-only: a query cannot write, whatever it hides after a read.
		{"db: wallet.db\nquery: WITH x AS (SELECT 1) DELETE FROM ledger\nexpect: true", false, "", "readonly"},
	}
	for _, tt := range tests {
		t.Run(tt.check, func(t *testing.T) {
			c := probeCheck(t, "probe: sql\nwhen: after\n"+tt.check)
			r := Run(context.Background(), c, tgt)
			if r.OK != tt.ok || r.Answer != tt.answer || !strings.Contains(r.Err, tt.err) || (tt.err == "" && r.Err != "") {
				t.Errorf("got %+v; want ok %v, answer %q, error with %q", r, tt.ok, tt.answer, tt.err)
			}
		})
	}
	db, err = sql.Open("sqlite", filepath.Join(dir, "wallet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM ledger").Scan(&n); err != nil || n != 2 {
		t.Errorf("the ledger holds %d rows after the probes (%v); want 2", n, err)
	}
}

func TestEvery(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	sc, err := scenario.Parse("t.yaml", []byte(`load: {duration: 10s}
checks:
  - {probe: http, url: "{gateway}/a", every: 100ms, expect: status == 200}
  - {probe: http, url: "{gateway}/b", when: after, expect: status == 200}
`))
	if err != nil {
		t.Fatal(err)
	}
	tgt := Target{Values: map[string]string{"gateway": srv.URL}}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, sc.Checks, tgt, func(r Result) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, r)
			if len(got) == 3 {
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Every did not return after its context ended")
	}
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if n < 3 {
		t.Fatalf("%d results; want 3", n)
	}
	for _, r := range got {
		if !r.OK || r.Check != sc.Checks[0].Name {
			t.Errorf("result %+v", r)
		}
	}
	// Once returned means nothing runs any more: no result comes later.
	before := hits.Load()
	if after := Once(context.Background(), scenario.ProbeAfter, sc.Checks, tgt); len(after) != 1 || !after[0].OK || after[0].Check != sc.Checks[1].Name {
		t.Errorf("Once after = %+v", after)
	}
	if h := hits.Load(); h != before+1 {
		t.Errorf("%d requests after Every returned; want only Once's", h-before)
	}
}
