package food

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday/gameday/mockstore"
)

// FuzzAPI sends arbitrary requests to the API: whatever arrives, the answer
// is never a 5xx (nor a panic), and a refusal is in the envelope.
func FuzzAPI(f *testing.F) {
	d := mockstore.Seed(1, 40)
	svc, err := New(context.Background(), Config{
		DBPath:   filepath.Join(f.TempDir(), "food.db"),
		Dataset:  d,
		Features: mockstore.Features{mockstore.IdempotentRequests: true},
	})
	if svc != nil {
		f.Cleanup(func() { _ = svc.Close() })
	}
	if err != nil {
		f.Fatalf("New: %v", err)
	}
	h := svc.Handler()
	owner, driver := d.Restaurants[0].Owner, d.Drivers[0]
	seeds := []struct{ method, path, key, body string }{
		{"POST", "/orders", "k1", `{"user_id":"u00001","restaurant_id":"r01","items":[{"item_id":"m1","qty":2}]}`},
		{"POST", "/orders", "k1", `{"user_id":"u00001","restaurant_id":"r01","items":[{"item_id":"m1","qty":3}]}`},
		{"POST", "/orders", "", `{"user_id":"u00001","restaurant_id":"r01","items":[{"item_id":"m1","qty":1e400}]}`},
		{"POST", "/orders", "k2", `{"user_id":"u00001","restaurant_id":"r01","items":[{"item_id":"m1","qty":-9223372036854775808}]}`},
		{"GET", "/orders/fnope?as=u00001", "", ""},
		{"GET", "/restaurants/r01/orders?as=" + owner, "", ""},
		{"POST", "/orders/fnope/accept", "", `{"as":"` + owner + `"}`},
		{"GET", "/offers?as=" + driver, "", ""},
		{"POST", "/orders/fnope/take", "", `{"as":"` + driver + `"}`},
		{"POST", "/orders/fnope/messages", "m1", `{"as":"u00001","text":"\ud800"}`},
		{"GET", "/orders/fnope/messages?as=u00001&as=u00002", "", ""},
		{"DELETE", "/orders/%zz", "", ""},
		{"GET", "/restaurants", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.key, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, key, body string) {
		req, err := http.NewRequest(method, "http://food"+path, strings.NewReader(body))
		if err != nil || !strings.HasPrefix(path, "/") {
			t.Skip("not a request")
		}
		if key != "" {
			req.Header.Set(IdempotencyHeader, key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s (key %q) %q = %d: %s", method, path, key, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s %s = %d without the envelope: %s", method, path, rec.Code, rec.Body)
		}
	})
}
