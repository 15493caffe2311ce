// Command inventory is the worked example of a system that is not the
// storefront: a small shop of two services that gameday rehearses through a
// topology file of its own (scenarios/examples/inventory.topology.yaml).
//
//	inventory stock -listen ADDR -db FILE
//	inventory shop  -listen ADDR -db FILE -stock URL
//
// stock keeps how many of each item are left in a SQLite file and reserves
// them. shop takes orders from shoppers: it reserves the items at stock
// (through the Toxiproxy proxy gameday puts on the link shop->stock) and
// records the order in its own SQLite file. When stock is slow or gone, shop
// answers 503 with Retry-After — never an order it did not reserve.
//
// The API, JSON over HTTP:
//
//	GET  /healthz                         both: 200 once the store is open
//	GET  /items                           stock: [{sku, left}]
//	POST /reserve {sku, qty}              stock: 200 {left} | 409 {"error":"sold_out"}
//	POST /orders  {sku, qty}              shop:  201 {order_id} | 409 sold_out | 503 + Retry-After
//	GET  /orders/{id}                     shop:  {order_id, sku, qty}
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: inventory stock|shop -listen ADDR -db FILE [-stock URL]")
		os.Exit(2)
	}
	role := os.Args[1]
	fs := flag.NewFlagSet(role, flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	dbPath := fs.String("db", "inventory.db", "SQLite file of this service")
	stockURL := fs.String("stock", "", "base URL of the stock service (shop only)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long shop waits for stock")
	_ = fs.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, role, *listen, *dbPath, *stockURL, *timeout); err != nil {
		log.Printf("inventory %s: %v", role, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, role, listen, dbPath, stockURL string, timeout time.Duration) error {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one writer: SQLite serialises writes anyway

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	switch role {
	case "stock":
		s := &stock{db: db}
		if err := s.migrate(ctx); err != nil {
			return err
		}
		mux.HandleFunc("GET /items", s.handleItems)
		mux.HandleFunc("POST /reserve", s.handleReserve)
	case "shop":
		if stockURL == "" {
			return errors.New("shop needs -stock URL")
		}
		s := &shop{db: db, stock: stockURL, client: &http.Client{Timeout: timeout}}
		if err := s.migrate(ctx); err != nil {
			return err
		}
		mux.HandleFunc("POST /orders", s.handleOrder)
		mux.HandleFunc("GET /orders/{id}", s.handleGetOrder)
	default:
		return fmt.Errorf("unknown role %q (allowed: stock, shop)", role)
	}

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

type stock struct{ db *sql.DB }

func (s *stock) migrate(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS items (sku TEXT PRIMARY KEY, qty_left INTEGER NOT NULL CHECK (qty_left >= 0));
		INSERT OR IGNORE INTO items (sku, qty_left) VALUES ('sku-1', 1000000), ('sku-2', 1000000), ('sku-rare', 50);`)
	if err != nil {
		return fmt.Errorf("migrate stock: %w", err)
	}
	return nil
}

func (s *stock) handleItems(w http.ResponseWriter, r *http.Request) {
	rows, err := s.db.QueryContext(r.Context(), `SELECT sku, qty_left FROM items ORDER BY sku`)
	if err != nil {
		writeError(w, 500, "store", err.Error())
		return
	}
	defer rows.Close()
	type item struct {
		SKU  string `json:"sku"`
		Left int    `json:"left"`
	}
	out := []item{}
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.SKU, &it.Left); err != nil {
			writeError(w, 500, "store", err.Error())
			return
		}
		out = append(out, it)
	}
	writeJSON(w, 200, out)
}

type line struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

func (s *stock) handleReserve(w http.ResponseWriter, r *http.Request) {
	var in line
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil || in.SKU == "" || in.Qty < 1 {
		writeError(w, 400, "bad_request", "want {sku, qty >= 1}")
		return
	}
	res, err := s.db.ExecContext(r.Context(), `UPDATE items SET qty_left = qty_left - ? WHERE sku = ? AND qty_left >= ?`, in.Qty, in.SKU, in.Qty)
	if err != nil {
		writeError(w, 500, "store", err.Error())
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		writeError(w, 409, "sold_out", "not enough "+in.SKU+" left")
		return
	}
	var left int
	_ = s.db.QueryRowContext(r.Context(), `SELECT qty_left FROM items WHERE sku = ?`, in.SKU).Scan(&left)
	writeJSON(w, 200, map[string]int{"left": left})
}

type shop struct {
	db     *sql.DB
	stock  string
	client *http.Client
}

func (s *shop) migrate(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY AUTOINCREMENT, sku TEXT NOT NULL, qty INTEGER NOT NULL, at TEXT NOT NULL)`)
	if err != nil {
		return fmt.Errorf("migrate shop: %w", err)
	}
	return nil
}

func (s *shop) handleOrder(w http.ResponseWriter, r *http.Request) {
	var in line
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil || in.SKU == "" || in.Qty < 1 {
		writeError(w, 400, "bad_request", "want {sku, qty >= 1}")
		return
	}
	body, _ := json.Marshal(in)
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, s.stock+"/reserve", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, 503, "stock_unavailable", "stock did not answer; try again")
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	switch {
	case resp.StatusCode == 409:
		writeError(w, 409, "sold_out", "not enough "+in.SKU+" left")
		return
	case resp.StatusCode != 200:
		w.Header().Set("Retry-After", "1")
		writeError(w, 503, "stock_unavailable", "stock answered "+strconv.Itoa(resp.StatusCode)+"; try again")
		return
	}
	res, err := s.db.ExecContext(r.Context(), `INSERT INTO orders (sku, qty, at) VALUES (?, ?, ?)`, in.SKU, in.Qty, time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		writeError(w, 500, "store", err.Error())
		return
	}
	id, _ := res.LastInsertId()
	writeJSON(w, 201, map[string]int64{"order_id": id})
}

func (s *shop) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, 400, "bad_request", "order id is a number")
		return
	}
	var o struct {
		ID  int64  `json:"order_id"`
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	err = s.db.QueryRowContext(r.Context(), `SELECT id, sku, qty FROM orders WHERE id = ?`, id).Scan(&o.ID, &o.SKU, &o.Qty)
	if errors.Is(err, sql.ErrNoRows) {
		writeError(w, 404, "not_found", "no such order")
		return
	} else if err != nil {
		writeError(w, 500, "store", err.Error())
		return
	}
	writeJSON(w, 200, o)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]map[string]string{"error": {"code": code, "message": msg}})
}
