package judge

import (
	"fmt"
	"maps"
	"slices"

	"github.com/gameday/gameday/internal/env"
	"github.com/gameday/gameday/internal/scenario"
)

// metricFloodAttempts is the load's count of its attackers' login starts,
// by phone (tag name); see internal/load/storefront.MetricFloodAttempts.
const metricFloodAttempts = "flood_attempts"

// floodCodesBounded decides flood_codes_bounded: every phone the attackers
// flooded received at most c.Max codes. Which phones were flooded, and how
// often, comes from the load's own count (flood_attempts); what each phone
// received comes from the OTP provider's record of its deliveries
// (distinct codes per phone), never from auth's count of its own sends,
// which a limiter that lied about itself could fake.
func floodCodesBounded(r *Run, c scenario.Check) Verdict {
	want := fmt.Sprintf("at most %d login codes delivered to each flooded phone", c.Max)
	if err := r.Audit.Missing(env.SourceOTP); err != nil {
		return wantUnknown(want, "%s", err)
	}
	attempts := map[string]int64{}
	var total int64
	for i := range r.Series {
		p := &r.Series[i]
		if p.Metric != metricFloodAttempts || p.Tags["name"] == "" {
			continue
		}
		attempts[p.Tags["name"]] += int64(p.Sum)
		total += int64(p.Sum)
	}
	if total == 0 {
		return wantUnknown(want, "the attackers made no login starts (flood_attempts): nothing flooded, nothing to judge")
	}
	codes := r.Audit.OTP.Codes
	if codes == nil {
		return wantUnknown(want, "the OTP provider's audit has no count of codes per phone")
	}
	var t tally
	most, mostPhone := 0, ""
	for _, phone := range slices.Sorted(maps.Keys(attempts)) {
		got := codes[phone]
		if got > most || mostPhone == "" {
			most, mostPhone = got, phone
		}
		if got > c.Max {
			t.add(r.Start, float64(got), "%s received %d codes for %d login starts", phone, got, attempts[phone])
		}
	}
	v := t.verdict(want, total, "")
	v.Got = float64(most)
	v.Reason = fmt.Sprintf("the OTP provider delivered at most %d codes to one flooded phone (%s, %d login starts); the attackers made %d login starts on %d phones",
		most, mostPhone, attempts[mostPhone], total, len(attempts))
	return v
}
