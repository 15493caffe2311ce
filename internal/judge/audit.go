package judge

import (
	"slices"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
)

// auditNeeds are the audits each invariant and experience check reads, by
// the check's subject: the contract a service that replaces a storefront
// service must serve for the check to be judged (mockstore/API.md, "The
// audit contract a replacement must serve", lists the same; a test holds
// the two together).
var auditNeeds = map[string][]string{
	scenario.InvMoneyConserved:       {env.SourceTotals},
	scenario.InvNoNegativeBalance:    {env.SourceTotals},
	scenario.InvLedgerMatches:        {env.SourceTotals},
	scenario.InvNoDoubleCharge:       {env.SourceCharges},
	scenario.InvFailedOrdersRefunded: {env.SourceOrders, env.SourceCharges},
	scenario.InvNoFailedWhileCharged: {env.SourceOrders, env.SourceCharges},
	scenario.InvPaidOrdersCharged:    {env.SourceOrders, env.SourceCharges},
	scenario.InvNoStuckPending:       {env.SourceOrders},
	scenario.InvOneOrderPerCart:      {env.SourceOrders},
	scenario.InvNoLostSessions:       {env.SourceAuth, env.SourceGateway},
	scenario.InvNoCrossUserData:      {env.SourceGateway},
	scenario.InvRetriesBounded:       {env.SourceGateway},
	scenario.InvFoodOrdersOnce:       {env.SourceFood},
	scenario.InvChatMessagesOnce:     {env.SourceFood},
	scenario.InvFoodOrdersDispatched: {env.SourceFood},
	scenario.ExpNoFalseNotRegistered: {env.SourceGateway, env.SourceAuth}, // either suffices
	scenario.ExpErrorsHaveRetryAfter: {env.SourceGateway},
	scenario.ExpForcedLogouts:        {env.SourceGateway},
	scenario.ExpNoZeroBalance:        nil, // the shoppers' series only
	scenario.ExpNoLockoutByFault:     {env.SourceAuth},
	scenario.ExpNoFalseRefusal:       {env.SourceLedger, env.SourceAccounts, env.SourceCatalog}, // the gateway's count beside, when served
	scenario.ExpUndeliveredCodes:     {env.SourceAuth},
	scenario.ExpFloodCodesBounded:    {env.SourceOTP},
	scenario.InvOTPWithinLifetime:    {env.SourceAuth},
	scenario.InvOTPUsedOnce:          {env.SourceAuth},
	scenario.InvOTPLateRefused:       nil, // what the shoppers were answered
	scenario.InvOTPReuseRefused:      nil, // what the shoppers were answered
}

// AuditNeeds returns the audit sources (env.Source constants) check c
// reads; nil for a check that reads none (metric, recovery and probe
// checks, no_zero_balance). When one of them was not served, c is unknown
// with the reason "the wallet's audit was not served: ..." — except
// no_false_not_registered, which counts with the gateway's audit or auth's,
// and is unknown only when neither was served.
func AuditNeeds(c scenario.Check) []string {
	if c.Kind != scenario.CheckInvariant && c.Kind != scenario.CheckExperience {
		return nil
	}
	return slices.Clone(auditNeeds[c.Subject])
}
