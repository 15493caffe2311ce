package judge

import (
	"testing"
	"time"

	"github.com/gameday/gameday/internal/scenario"
	"github.com/gameday/gameday/mockstore"
)

// foodOrder makes a food order of user with key placed at offset placed
// whose history is the given (state, offset) pairs after "placed".
func foodOrder(id, user, key string, placed time.Duration, history ...any) mockstore.FoodOrderRecord {
	o := mockstore.FoodOrderRecord{OrderID: id, UserID: user, RestaurantID: "r01", Key: key, Amount: 25_000,
		CreatedAt: at(placed), Status: mockstore.FoodPlaced,
		History: []mockstore.StateChange{{State: mockstore.FoodPlaced, At: at(placed)}}}
	for i := 0; i+1 < len(history); i += 2 {
		st := history[i].(string)
		o.History = append(o.History, mockstore.StateChange{State: st, At: at(history[i+1].(time.Duration))})
		o.Status = st
	}
	return o
}

func chat(id, order, from, key string, when time.Duration) mockstore.ChatRecord {
	return mockstore.ChatRecord{MessageID: id, OrderID: order, From: from, Key: key, At: at(when)}
}

func TestFoodInvariants(t *testing.T) {
	withBound := func(c scenario.Check, b time.Duration) scenario.Check { c.Bound = b; return c }
	withAfter := func(c scenario.Check, d time.Duration) scenario.Check { c.AfterFaults = &d; return c }
	acc, asg := mockstore.FoodAccepted, mockstore.FoodAssigned
	tests := []struct {
		name   string
		check  scenario.Check
		food   *mockstore.FoodAudit
		read   time.Duration // when the audit was read
		status Status
		got    float64
		say    []string
	}{
		// food_orders_once
		{name: "each key once", check: invariant(scenario.InvFoodOrdersOnce),
			food: &mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{
				foodOrder("f1", "u1", "k1", 10*s), foodOrder("f2", "u1", "k2", 11*s), foodOrder("f3", "u2", "k1", 12*s), // another shopper's k1
			}},
			status: Pass, got: 0, say: []string{"3 food orders, each key placed once"}},
		{name: "a retry placed a second order", check: invariant(scenario.InvFoodOrdersOnce),
			food: &mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{
				foodOrder("f1", "u1", "k1", 20*s), foodOrder("f2", "u1", "k1", 21*s), foodOrder("f3", "u1", "k1", 22*s), foodOrder("f4", "u2", "k9", 23*s),
			}},
			status: Fail, got: 1, say: []string{"shopper u1's key \"k1\" placed 3 orders (f1 first at +20.0s, f2 at +21.0s)", "1 of 2 keys"}},
		{name: "no food orders", check: invariant(scenario.InvFoodOrdersOnce),
			food: &mockstore.FoodAudit{}, status: Unknown, say: []string{"no food orders"}},
		{name: "food not read", check: invariant(scenario.InvFoodOrdersOnce),
			status: Unknown, say: []string{"the food's audit was not served: GET /audit/food was not read"}},

		// chat_messages_once
		{name: "each message once", check: invariant(scenario.InvChatMessagesOnce),
			food: &mockstore.FoodAudit{Messages: []mockstore.ChatRecord{
				chat("c1", "f1", "u1", "k1", 10*s), chat("c2", "f1", "u9", "k1", 11*s), chat("c3", "f2", "u1", "k1", 12*s),
			}},
			status: Pass, got: 0},
		{name: "a message stored twice", check: invariant(scenario.InvChatMessagesOnce),
			food: &mockstore.FoodAudit{Messages: []mockstore.ChatRecord{
				chat("c1", "f1", "u1", "k1", 30*s), chat("c2", "f1", "u1", "k1", 29*s), chat("c3", "f1", "u1", "k2", 31*s),
			}},
			status: Fail, got: 1, say: []string{"message of u1 on order f1 with key \"k1\" stored 2 times, first at +29.0s"}},
		{name: "no messages", check: invariant(scenario.InvChatMessagesOnce),
			food:   &mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{foodOrder("f1", "u1", "k1", 10*s)}},
			status: Unknown, say: []string{"no chat messages"}},

		// food_orders_dispatched
		{name: "all dispatched", check: invariant(scenario.InvFoodOrdersDispatched), read: 70 * s,
			food: &mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{
				foodOrder("f1", "u1", "k1", 10*s, acc, 11*s, asg, 12*s),
				foodOrder("f2", "u1", "k2", 60*s), // placed 10 s before the read: still within the bound
			}},
			status: Pass, got: 0, say: []string{"all 2 food orders dispatched"}},
		{name: "waiting for its merchant and for a driver", check: invariant(scenario.InvFoodOrdersDispatched), read: 70 * s,
			food: &mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{
				foodOrder("f1", "u1", "k1", 20*s),
				foodOrder("f2", "u1", "k2", 30*s, acc, 31*s),
				foodOrder("f3", "u1", "k3", 40*s, acc, 41*s, asg, 42*s),
			}},
			status: Fail, got: 2, say: []string{"food order f1 placed at +20.0s still waiting for its merchant at +70.0s (50s old)",
				"2 of 3 food orders not dispatched"}},
		{name: "dispatched too late for the checkpoint", check: withAfter(invariant(scenario.InvFoodOrdersDispatched), 10*s), read: 70 * s,
			food: &mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{
				foodOrder("f1", "u1", "k1", 30*s, acc, 44*s, asg, 50*s), // placed during the faults, dispatched after 45 s
				foodOrder("f2", "u1", "k2", 40*s, acc, 41*s, asg, 42*s),
			}},
			status: Fail, got: 1, say: []string{"still waiting for a driver at +45.0s"}},
		{name: "a bound of its own", check: withBound(invariant(scenario.InvFoodOrdersDispatched), 5*s), read: 70 * s,
			food:   &mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{foodOrder("f1", "u1", "k1", 62*s)}},
			status: Fail, got: 1},
		{name: "audit read before the checkpoint", check: withAfter(invariant(scenario.InvFoodOrdersDispatched), 20*s), read: 50 * s,
			food:   &mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{foodOrder("f1", "u1", "k1", 10*s)}},
			status: Unknown, say: []string{"before the checkpoint"}},
		{name: "nothing placed before the checkpoint", check: withAfter(invariant(scenario.InvFoodOrdersDispatched), 5*s), read: 70 * s,
			food:   &mockstore.FoodAudit{Orders: []mockstore.FoodOrderRecord{foodOrder("f1", "u1", "k1", 50*s)}},
			status: Unknown, say: []string{"no food order was placed before +40.0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Timeline: timeline()}
			r.Audit.Food = tt.food
			if tt.read > 0 {
				r.Audit.At = at(tt.read)
			}
			v := Decide(r, tt.check)
			wantVerdict(t, v, tt.status, tt.got, tt.say...)
			if v.Status == Fail && (v.Evidence.Count == 0 || v.Evidence.First == "" || v.Evidence.Worst == "") {
				t.Errorf("a failure without evidence: %+v", v.Evidence)
			}
		})
	}
}
