package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dynaseal/dynaseal/itest"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// TestCRM runs the example's whole flow against the shared DynamoDB
// Local; run itself checks every step's outcome, and the output shows
// what the README says it shows.
func TestCRM(t *testing.T) {
	endpoint := itest.Endpoint(t) // skips, or fails when CI=true, if DynamoDB Local cannot start
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, config{endpoint: endpoint}); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	t.Logf("output:\n%s", out.String())
	for _, want := range []string{
		`acme FindByEmail("  Ada@Example.COM "): c-ada, Ada Lovelace`,
		"email#b = \"acme\" + 0x1f",
		"globex FindByEmail(\"ada@example.com\"): its own customer only",
		`acme GetByEmail("grace@example.com"): c-grace, Grace Hopper`,
		`acme Create(" GRACE@example.com"): refused`,
		`GetByEmail("grace@example.com"): not found`,
		`acme FindByStatusEmail("lead", "linus@example.com"): []`,
		"c-barbara (2026-01-08), c-linus (2026-01-07)",
		"FindByEmail finds c-ada (sealed before the rotation) and c-edsger (after it)",
		"a second ada@example.com is still refused",
		`globex FindByEmail("ada@example.com"): refused (ErrKeyShredded)`,
		"All 8 steps behaved as shown.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
