package wallet_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/wallet"
)

// childEnv, when set to a ledger path, turns the test binary into the
// process TestDurabilityKill9 kills.
const childEnv = "GAMEDAY_WALLET_CHILD"

func durabilityDataset() mockstore.Dataset {
	var users []mockstore.User
	for i := range 8 {
		users = append(users, mockstore.User{ID: fmt.Sprintf("u%d", i), Balance: 1 << 40})
	}
	return dataset(users)
}

// runChild charges and refunds through the wallet's handler from several
// goroutines until it is killed, writing one line to stdout per operation
// the wallet acknowledged, after the handler returned (so after the commit):
//
//	charge <key> <user> <order> <amount> <charge_id>
//	refund <order> <refund_id> <amount>
//
// It never closes the wallet. A write to stdout failing (the parent is gone)
// or a safety deadline ends it.
func runChild(path string) int {
	d := durabilityDataset()
	s, err := wallet.New(context.Background(), wallet.Config{DBPath: path, Dataset: d})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	h := s.Handler()
	deadline := time.Now().Add(2 * time.Minute)
	post := func(path, key, body string, out any) error {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		if key != "" {
			req.Header.Set(wallet.IdempotencyHeader, key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 201 {
			return fmt.Errorf("POST %s: %d %s", path, rec.Code, rec.Body)
		}
		return json.Unmarshal(rec.Body.Bytes(), out)
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				key := fmt.Sprintf("g%d-%d", g, i)
				user := d.Users[(g+i)%len(d.Users)].ID
				amount := int64(1 + (i*7+g)%500)
				var ch wallet.Charge
				body := fmt.Sprintf(`{"user_id":%q,"order_id":"o-%s","amount":%d}`, user, key, amount)
				if err := post("/charges", key, body, &ch); err != nil {
					fail(err)
				}
				// One write per line: atomic on a pipe, so lines never interleave.
				if _, err := fmt.Fprintf(os.Stdout, "charge %s %s o-%s %d %s\n", key, user, key, amount, ch.ChargeID); err != nil {
					os.Exit(4)
				}
				if i%5 == 4 {
					order := fmt.Sprintf("o-g%d-%d", g, i-2)
					var rf wallet.Refund
					if err := post("/refunds", "", fmt.Sprintf(`{"order_id":%q}`, order), &rf); err != nil {
						fail(err)
					}
					if _, err := fmt.Fprintf(os.Stdout, "refund %s %s %d\n", order, rf.RefundID, rf.Amount); err != nil {
						os.Exit(4)
					}
				}
			}
		})
	}
	wg.Wait()
	return 0
}

type ackedCharge struct {
	user, order, id string
	amount          int64
}

type ackedRefund struct {
	id     string
	amount int64
}

// TestDurabilityKill9 kills a wallet with SIGKILL in the middle of a stream
// of charges and refunds, reopens its ledger, and checks that every
// operation it acknowledged is there and the ledger is sound.
func TestDurabilityKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "wallet.db")
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	// A watchdog, not a readiness wait: if the child stalls, killing it ends
	// the read loop below and the test fails on the missing acknowledgements.
	watchdog := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	charges := map[string]ackedCharge{}
	refunds := map[string]ackedRefund{}
	const wantCharges, wantRefunds = 400, 40
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 6 && f[0] == "charge":
			amount, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				t.Fatalf("ack %q: %v", sc.Text(), err)
			}
			charges[f[1]] = ackedCharge{user: f[2], order: f[3], amount: amount, id: f[5]}
		case len(f) == 4 && f[0] == "refund":
			amount, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil {
				t.Fatalf("ack %q: %v", sc.Text(), err)
			}
			refunds[f[1]] = ackedRefund{id: f[2], amount: amount}
		default:
			t.Fatalf("bad ack line %q", sc.Text())
		}
		if !killed && len(charges) >= wantCharges && len(refunds) >= wantRefunds {
			// SIGKILL: no deferred function, no Close, no checkpoint. The
			// child keeps running until the signal lands; every line it
			// wrote until then is an acknowledgement we hold it to.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read acks: %v", err)
	}
	err = cmd.Wait()
	waited = true
	if !killed {
		t.Fatalf("child ended after %d charges and %d refunds (%v): %s", len(charges), len(refunds), err, stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != -1 {
		t.Fatalf("child exited with %d instead of being killed: %s", code, stderr.String())
	}
	t.Logf("child killed after %d acknowledged charges and %d refunds", len(charges), len(refunds))

	e := openEnv(t, path, durabilityDataset())
	ctx := context.Background()
	checkLedger(t, e.totals(t))
	records := map[string]mockstore.ChargeRecord{}
	for _, c := range e.chargeRecords(t) {
		records[c.Key] = c
		if c.Refunds > 1 {
			t.Errorf("charge %s refunded %d times", c.Key, c.Refunds)
		}
	}
	if len(records) < len(charges) {
		t.Errorf("%d charges in the ledger, %d acknowledged", len(records), len(charges))
	}
	for key, a := range charges {
		c, ok := records[key]
		if !ok {
			t.Errorf("acknowledged charge %s lost", key)
			continue
		}
		if c.ChargeID != a.id || c.UserID != a.user || c.OrderID != a.order || c.Amount != a.amount {
			t.Errorf("charge %s: %+v, acknowledged %+v", key, c, a)
		}
	}
	for order, a := range refunds {
		key := strings.TrimPrefix(order, "o-")
		if c := records[key]; c.Refunds != 1 || a.amount != charges[key].amount {
			t.Errorf("acknowledged refund %s of %d: charge record %+v", order, a.amount, c)
		}
		rf, err := e.c.Refund(ctx, order)
		if err != nil || !rf.Replayed || rf.RefundID != a.id || rf.Amount != a.amount {
			t.Errorf("refund %s after reopen = %+v, %v; acknowledged %+v", order, rf, err, a)
		}
	}
	checkLedger(t, e.totals(t))
}
