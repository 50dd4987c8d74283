package attrcrypt

import (
	"fmt"
	"math"
	"testing"
)

// TestBeaconFalsePositiveRate measures, on generated e-mail addresses, how
// many other values of a tenant share the beacon of a searched value (the
// false positives a find reads, verifies and drops) and compares it with
// the README's prediction (N-1)/2^bits for N distinct values per tenant.
//
// Per tenant, the false positives summed over searching each of its N
// values are 2·P, P the number of colliding pairs; so the mean per search
// is 2P/N. P is compared with its expectation C(N,2)/2^bits within six
// standard deviations (bucket counts taken as Poisson with mean
// mu = N/2^bits: Var P = 2^bits·(mu^3 + mu^2/2) per tenant).
func TestBeaconFalsePositiveRate(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	const tenants = 4
	keys := make([]Key, tenants)
	for i := range keys {
		keys[i] = beaconVectorKey(fmt.Sprintf("fp tenant %d", i))
	}
	t.Logf("%8s %5s %14s %14s %7s", "N", "bits", "predicted/srch", "measured/srch", "ratio")
	for _, n := range []int{1000, 10000} {
		for _, bits := range []int{8, 12, 16, 20} {
			pairs := 0
			for ti, key := range keys {
				s, err := NewSearcher(key, "customers", "email")
				if err != nil {
					t.Fatal(err)
				}
				buckets := map[string]int{}
				for i := range n {
					// Distinct before and after normalisation.
					v := S(fmt.Sprintf(" User.%d.%d@Example.COM ", ti, i))
					b, err := s.Beacon(v, NormalizeTrim|NormalizeLower, bits)
					if err != nil {
						t.Fatal(err)
					}
					pairs += buckets[b]
					buckets[b]++
				}
			}
			space := math.Ldexp(1, bits)
			mu := float64(n) / space
			wantPairs := tenants * float64(n) * float64(n-1) / 2 / space
			sd := math.Sqrt(tenants * space * (mu*mu*mu + mu*mu/2))
			predicted := float64(n-1) / space
			measured := 2 * float64(pairs) / float64(tenants*n)
			t.Logf("%8d %5d %14.5f %14.5f %7.3f", n, bits, predicted, measured, measured/predicted)
			if math.Abs(float64(pairs)-wantPairs) > 6*sd+2 {
				t.Errorf("N=%d bits=%d: %d colliding pairs over %d tenants, expected %.1f ± %.1f", n, bits, pairs, tenants, wantPairs, 6*sd)
			}
		}
	}
}
