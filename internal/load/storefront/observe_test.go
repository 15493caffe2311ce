package storefront

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestObservationsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), ObservationsFile)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	log := NewObservationLog(f)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Observe(Observation{Kind: ObserveCheckout, Sent: time.Unix(int64(i), 0), Status: 402, Code: "insufficient_funds",
				Cart: []CartLine{{ProductID: "p001", Qty: 2, Price: 10_000}}, Amount: 20_000})
		}()
	}
	wg.Wait()
	if err := log.Err(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ReadObservations(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 || got[0].Cart[0].Qty != 2 || got[0].Amount != 20_000 || got[0].Code != "insufficient_funds" {
		t.Fatalf("read back %d observations, first %+v", len(got), got[0])
	}

	t.Run("a last line cut short is left out", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), ObservationsFile)
		writeFile(t, p, `{"kind":"login","status":202}`+"\n"+`{"kind":"chec`)
		got, err := ReadObservations(p)
		if err != nil || len(got) != 1 || got[0].Kind != ObserveLogin {
			t.Fatalf("got %+v, %v; want the whole line only", got, err)
		}
	})
	t.Run("a bad line before the last is an error", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), ObservationsFile)
		writeFile(t, p, "not json\n"+`{"kind":"login","status":202}`+"\n")
		if _, err := ReadObservations(p); err == nil || !strings.Contains(err.Error(), ":1:") {
			t.Fatalf("err %v, want one naming line 1", err)
		}
	})
	t.Run("no file", func(t *testing.T) {
		if _, err := ReadObservations(filepath.Join(t.TempDir(), "none")); err == nil {
			t.Fatal("no error for a missing file")
		}
	})
}

func writeFile(tb testing.TB, path, text string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
}
