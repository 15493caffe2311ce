package judge

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
	"github.com/gameday/gameday/mockstore/otp"
	"github.com/gameday/gameday/mockstore/sessions"
)

// TestAuditNeedsCoversEveryCheck: every invariant and experience has its
// entry, so that a new check cannot leave the contract unwritten.
func TestAuditNeedsCoversEveryCheck(t *testing.T) {
	for _, s := range scenario.Invariants() {
		if _, ok := auditNeeds[s.Name]; !ok {
			t.Errorf("invariant %s: no entry in auditNeeds", s.Name)
		}
	}
	for _, s := range scenario.Experiences() {
		if _, ok := auditNeeds[s.Name]; !ok {
			t.Errorf("experience %s: no entry in auditNeeds", s.Name)
		}
	}
}

// TestAuditNotServed: with one source not served, exactly the checks that
// need it are unknown, and their reason names the service and what
// happened.
func TestAuditNotServed(t *testing.T) {
	sources := []string{env.SourceTotals, env.SourceCharges, env.SourceOrders, env.SourceAuth, env.SourceGateway, env.SourceSessions, env.SourceOTP, env.SourceFood, env.SourceLedger, env.SourceAccounts, env.SourceCatalog}
	var checks []scenario.Check
	for _, s := range scenario.Invariants() {
		checks = append(checks, scenario.Check{Kind: scenario.CheckInvariant, Subject: s.Name, Name: s.Name})
	}
	for _, s := range scenario.Experiences() {
		checks = append(checks, scenario.Check{Kind: scenario.CheckExperience, Subject: s.Name, Name: s.Name})
	}
	for _, src := range sources {
		service, _, _ := strings.Cut(src, " ")
		a := env.Audit{Unread: map[string]string{}}
		for _, other := range sources {
			a.Unread[other] = "status 404: 404 page not found"
		}
		for _, c := range checks {
			needs := AuditNeeds(c)
			v := Decide(&Run{Timeline: timeline(), Audit: a}, c)
			if len(needs) == 0 {
				if strings.Contains(v.Reason, "audit was not served") {
					t.Errorf("%s needs no audit, yet: %s", c.Name, v)
				}
				continue
			}
			if v.Status != Unknown || !strings.HasPrefix(v.Reason, "the ") || !strings.Contains(v.Reason, "'s audit was not served: GET /audit/") {
				t.Errorf("%s with no audit served: %s", c.Name, v)
			}
			// Only src not served: unknown when c needs it, and then naming it.
			one := served()
			unserve(&one, src, "status 404: 404 page not found")
			v = Decide(&Run{Timeline: timeline(), Audit: one}, c)
			want := "the " + service + "'s audit was not served: GET " + strings.TrimPrefix(src, service+" ") + ": status 404"
			either := c.Subject == scenario.ExpNoFalseNotRegistered
			switch {
			case either && slices.Contains(needs, src):
				if strings.Contains(v.Reason, "audit was not served") {
					t.Errorf("%s without only %s: %s; the other audit suffices", c.Name, src, v)
				}
			case slices.Contains(needs, src):
				if v.Status != Unknown || !strings.HasPrefix(v.Reason, want) {
					t.Errorf("%s without %s: %s; want unknown: %s", c.Name, src, v, want)
				}
			case strings.Contains(v.Reason, "audit was not served"):
				t.Errorf("%s does not need %s, yet: %s", c.Name, src, v)
			}
		}
	}
}

// served is an audit in which every source was served, empty.
func served() env.Audit {
	return env.Audit{Wallet: &mockstore.WalletTotals{}, Auth: &mockstore.AuthAudit{}, Gateway: &mockstore.GatewayAudit{},
		Sessions: &sessions.Audit{}, OTP: &otp.Audit{}, Food: &mockstore.FoodAudit{},
		Ledger: []mockstore.LedgerEntry{}, Accounts: []mockstore.AccountRecord{}, Catalogue: &mockstore.CatalogueAudit{}}
}

// unserve makes src not served in a, as ReadAudit leaves a source it could
// not read: its field empty, and why in Unread.
func unserve(a *env.Audit, src, why string) {
	switch src {
	case env.SourceTotals:
		a.Wallet = nil
	case env.SourceCharges:
		a.Charges = nil
	case env.SourceOrders:
		a.Orders = nil
	case env.SourceAuth:
		a.Auth = nil
	case env.SourceGateway:
		a.Gateway = nil
	case env.SourceSessions:
		a.Sessions = nil
	case env.SourceOTP:
		a.OTP = nil
	case env.SourceFood:
		a.Food = nil
	case env.SourceLedger:
		a.Ledger = nil
	case env.SourceAccounts:
		a.Accounts = nil
	case env.SourceCatalog:
		a.Catalogue = nil
	}
	if a.Unread == nil {
		a.Unread = map[string]string{}
	}
	a.Unread[src] = why
}

// TestAuditContractDocumented holds mockstore/API.md's table of the audit
// contract to AuditNeeds: each check's row names the endpoints it reads.
func TestAuditContractDocumented(t *testing.T) {
	b, err := os.ReadFile("../../mockstore/API.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## The audit contract a replacement must serve")
	if !ok {
		t.Fatal("mockstore/API.md has no section \"The audit contract a replacement must serve\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		if name, rest, ok := strings.Cut(strings.TrimPrefix(line, "| `"), "` |"); ok && strings.HasPrefix(line, "| `") {
			rows[name] = rest
		}
	}
	for name, needs := range auditNeeds {
		row, ok := rows[name]
		if !ok {
			t.Errorf("API.md: no row for %s", name)
			continue
		}
		for _, src := range needs {
			service, path, _ := strings.Cut(src, " ")
			if !strings.Contains(row, service) || !strings.Contains(row, path) {
				t.Errorf("API.md: the row of %s does not name %s %s: %s", name, service, path, row)
			}
		}
		for _, path := range []string{"/audit/totals", "/audit/charges", "/audit/orders", "/audit/auth", "/audit/gateway", "/audit/food"} {
			needed := slices.ContainsFunc(needs, func(s string) bool { return strings.HasSuffix(s, " "+path) })
			if strings.Contains(row, path) && !needed {
				t.Errorf("API.md: the row of %s names %s, which it does not read", name, path)
			}
		}
	}
}
