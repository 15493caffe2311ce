package checkout

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/gameday/gameday/mockstore"
)

func TestHealthAndRoutes(t *testing.T) {
	e := newEnv(t, false)
	tests := []struct {
		name, method, url string
		status            int
		code              mockstore.Code
	}{
		{"healthz", http.MethodGet, e.url + "/healthz", 200, ""},
		{"unknown route", http.MethodGet, e.url + "/nope", 404, mockstore.CodeNotFound},
		{"wrong method", http.MethodPut, e.url + "/products", 405, mockstore.CodeMethodNotAllowed},
		{"wrong method on a pattern", http.MethodGet, e.url + "/checkout", 405, mockstore.CodeMethodNotAllowed},
		{"audit not on the API", http.MethodGet, e.url + "/audit/orders", 404, mockstore.CodeNotFound},
		{"API not on the audit", http.MethodGet, e.auditURL + "/products", 404, mockstore.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, _ := call(t, tt.method, tt.url, nil, nil)
			if status != tt.status || code != tt.code {
				t.Errorf("got %d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}
}

func TestProducts(t *testing.T) {
	e := newEnv(t, false)
	got, err := e.client.Products(context.Background())
	if err != nil {
		t.Fatalf("products: %v", err)
	}
	if !reflect.DeepEqual(got, e.cfg.Dataset.Products) {
		t.Errorf("catalogue differs from the dataset:\n got %+v\nwant %+v", got, e.cfg.Dataset.Products)
	}
	for _, p := range got {
		if p.WeightG <= 0 || p.SizeCM <= 0 || p.Price <= 0 {
			t.Errorf("product %s lacks weight, size or price: %+v", p.ID, p)
		}
	}
}

func TestCart(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	price := func(id string) int64 {
		for _, p := range e.cfg.Dataset.Products {
			if p.ID == id {
				return p.Price
			}
		}
		t.Fatalf("no product %s", id)
		return 0
	}

	for _, owner := range []string{"u:u00001", "g:guest-42"} {
		t.Run(owner, func(t *testing.T) {
			c, err := e.client.Cart(ctx, owner)
			if err != nil || c.Owner != owner || len(c.Items) != 0 || c.Total != 0 {
				t.Fatalf("new cart = %+v, %v; want empty", c, err)
			}
			if _, err := e.client.AddItem(ctx, owner, "p002", 2); err != nil {
				t.Fatalf("add: %v", err)
			}
			if _, err := e.client.AddItem(ctx, owner, "p001", 1); err != nil {
				t.Fatalf("add: %v", err)
			}
			c, err = e.client.AddItem(ctx, owner, "p002", 3) // adds to what is there
			if err != nil {
				t.Fatalf("add: %v", err)
			}
			want := []CartItem{{"p001", 1, price("p001")}, {"p002", 5, price("p002")}}
			if !reflect.DeepEqual(c.Items, want) || c.Total != price("p001")+5*price("p002") {
				t.Fatalf("cart = %+v, want items %+v", c, want)
			}
			c, err = e.client.RemoveItem(ctx, owner, "p002")
			if err != nil || len(c.Items) != 1 || c.Items[0].ProductID != "p001" {
				t.Fatalf("after remove: %+v, %v", c, err)
			}
			// Removing a catalogue product the cart does not hold is a no-op.
			if c, err = e.client.RemoveItem(ctx, owner, "p009"); err != nil || len(c.Items) != 1 {
				t.Fatalf("remove of a product not held: %+v, %v", c, err)
			}
		})
	}

	t.Run("carts are separate", func(t *testing.T) {
		c, err := e.client.Cart(ctx, "u:u00003")
		if err != nil || len(c.Items) != 0 {
			t.Fatalf("another owner's cart = %+v, %v; want empty", c, err)
		}
	})
}

func TestCartPersistsAcrossRestart(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.fill(t, "u:u00001", map[string]int{"p003": 4, "p004": 1})
	e.fill(t, "g:anon", map[string]int{"p005": 2})
	before, err := e.client.Cart(ctx, "u:u00001")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	e.start(t) // same DBPath
	after, err := e.client.Cart(ctx, "u:u00001")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("cart after restart = %+v, want %+v", after, before)
	}
	if g, err := e.client.Cart(ctx, "g:anon"); err != nil || len(g.Items) != 1 || g.Items[0].Qty != 2 {
		t.Errorf("guest cart after restart = %+v, %v", g, err)
	}
}

func TestCartBadInput(t *testing.T) {
	e := newEnv(t, false)
	e.fill(t, "u:u00001", map[string]int{"p001": 98})
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               mockstore.Code
	}{
		{"bad owner kind", "GET", "/carts/x:u00001", nil, 400, mockstore.CodeInvalidRequest},
		{"owner without id", "GET", "/carts/u:", nil, 400, mockstore.CodeInvalidRequest},
		{"owner without kind", "POST", "/carts/u00001/items", `{"product_id":"p001","qty":1}`, 400, mockstore.CodeInvalidRequest},
		{"owner too long", "GET", "/carts/u:" + strings.Repeat("a", 65), nil, 400, mockstore.CodeInvalidRequest},
		{"owner bad chars", "DELETE", "/carts/u:a%20b/items/p001", nil, 400, mockstore.CodeInvalidRequest},
		{"unknown product", "POST", "/carts/u:u00001/items", `{"product_id":"p999","qty":1}`, 422, mockstore.CodeUnknownProduct},
		{"no product", "POST", "/carts/u:u00001/items", `{"qty":1}`, 400, mockstore.CodeInvalidRequest},
		{"qty zero", "POST", "/carts/u:u00001/items", `{"product_id":"p002","qty":0}`, 400, mockstore.CodeInvalidRequest},
		{"qty negative", "POST", "/carts/u:u00001/items", `{"product_id":"p002","qty":-3}`, 400, mockstore.CodeInvalidRequest},
		{"qty over 99", "POST", "/carts/u:u00001/items", `{"product_id":"p002","qty":100}`, 400, mockstore.CodeInvalidRequest},
		{"sum over 99", "POST", "/carts/u:u00001/items", `{"product_id":"p001","qty":2}`, 400, mockstore.CodeInvalidRequest},
		{"qty not a number", "POST", "/carts/u:u00001/items", `{"product_id":"p002","qty":"2"}`, 400, mockstore.CodeInvalidRequest},
		{"unknown field", "POST", "/carts/u:u00001/items", `{"product_id":"p002","qty":1,"price":1}`, 400, mockstore.CodeInvalidRequest},
		{"not JSON", "POST", "/carts/u:u00001/items", `product=p002`, 400, mockstore.CodeInvalidRequest},
		{"trailing data", "POST", "/carts/u:u00001/items", `{"product_id":"p002","qty":1} {}`, 400, mockstore.CodeInvalidRequest},
		{"empty body", "POST", "/carts/u:u00001/items", ``, 400, mockstore.CodeInvalidRequest},
		{"body too large", "POST", "/carts/u:u00001/items", `{"product_id":"` + strings.Repeat("p", mockstore.MaxBody) + `","qty":1}`, 413, mockstore.CodeBodyTooLarge},
		{"remove unknown product", "DELETE", "/carts/u:u00001/items/p999", nil, 422, mockstore.CodeUnknownProduct},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, raw := call(t, tt.method, e.url+tt.path, tt.body, nil)
			if status != tt.status || code != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", status, code, raw, tt.status, tt.code)
			}
			c, err := e.client.Cart(context.Background(), "u:u00001")
			if err != nil || len(c.Items) != 1 || c.Items[0].Qty != 98 {
				t.Errorf("cart changed by a refused request: %+v, %v", c, err)
			}
		})
	}
}

func TestCartLineLimit(t *testing.T) {
	d := mockstore.Seed(7, 1)
	for i := 0; len(d.Products) < MaxCartLines+1; i++ {
		p := d.Products[0]
		p.ID = fmt.Sprintf("x%03d", i)
		d.Products = append(d.Products, p)
	}
	e := newEnv(t, false, func(c *Config) { c.Dataset = d })
	for _, p := range d.Products[:MaxCartLines] {
		e.fill(t, "g:big", map[string]int{p.ID: 1})
	}
	_, err := e.client.AddItem(context.Background(), "g:big", d.Products[MaxCartLines].ID, 1)
	if got := errCode(t, err); got != mockstore.CodeInvalidRequest {
		t.Fatalf("line %d: got %v, want invalid_request", MaxCartLines+1, err)
	}
	// Adding more of a product already held is still allowed.
	if _, err := e.client.AddItem(context.Background(), "g:big", d.Products[0].ID, 1); err != nil {
		t.Fatalf("add to an existing line: %v", err)
	}
}
