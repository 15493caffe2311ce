package badinput

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/internal/httpkit"
	"github.com/gameday/gameday/mockstore/internal/sqlitestore"
)

// TestRun runs the harness against a small service that refuses what it
// should and stores a key only for a well-formed request.
func TestRun(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "s.db"), []string{`CREATE TABLE keys (k TEXT PRIMARY KEY, n INTEGER)`})
	if db != nil {
		t.Cleanup(func() { _ = db.Close() })
	}
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rt := httpkit.NewRouter(httpkit.Errors{})
	rt.Handle("POST /keys", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			N int `json:"n"`
		}
		if err := mockstore.DecodeJSON(w, r, &in); err != nil {
			mockstore.WriteError(w, err)
			return
		}
		k := r.Header.Get("Key")
		if k == "" {
			mockstore.WriteError(w, mockstore.Errorf(mockstore.CodeIdempotencyKey, "no key"))
			return
		}
		err := db.Write(r.Context(), func(ctx context.Context, tx *sqlitestore.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO keys (k, n) VALUES (?, ?)`, k, in.N)
			return err
		})
		if err != nil {
			mockstore.WriteError(w, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	api := httptest.NewServer(rt)
	t.Cleanup(api.Close)
	audit := httptest.NewServer(httpkit.NewRouter(httpkit.Errors{}))
	t.Cleanup(audit.Close)

	if a := Send(t, "POST", api.URL+"/keys", `{"n":1}`, map[string]string{"Key": "k0"}); a.Status != http.StatusCreated {
		t.Fatalf("a good request = %d %s", a.Status, a.Body)
	}
	watched := 0
	target := Target{
		API: api.URL, Audit: audit.URL,
		State: func(tb testing.TB) string { return Tables(tb, db.DB) },
		Watch: func(testing.TB) func(testing.TB) { watched++; return func(testing.TB) {} },
	}
	cases := []Case{
		{Name: "no key", Method: "POST", Path: "/keys", Body: `{"n":2}`, Code: mockstore.CodeIdempotencyKey},
		{Name: "empty key", Method: "POST", Path: "/keys", Body: `{"n":2}`, Header: map[string]string{"Key": ""}, Code: mockstore.CodeIdempotencyKey},
		{Name: "trailing bracket", Method: "POST", Path: "/keys", Body: `{"n":2}]`, Header: map[string]string{"Key": "k1"}, Code: mockstore.CodeInvalidRequest, Bracket: true},
		{Name: "wrong method", Method: "GET", Path: "/keys", Code: mockstore.CodeMethodNotAllowed},
		{Name: "not on the audit", Method: "POST", Path: "/keys", Body: `{"n":2}`, Audit: true, Code: mockstore.CodeNotFound},
	}
	Run(t, target, cases)
	if watched != len(cases) {
		t.Errorf("Watch called %d times for %d cases", watched, len(cases))
	}
	if got, want := Tables(t, db.DB), "keys: [k0 1];"; got != want {
		t.Errorf("Tables = %q, want %q", got, want)
	}
}

// TestTablesOfEmptyDatabase: a database without tables dumps as nothing.
func TestTablesOfEmptyDatabase(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if got := Tables(t, db); got != "" {
		t.Errorf("Tables = %q, want empty", got)
	}
}
