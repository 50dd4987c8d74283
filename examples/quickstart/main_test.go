package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dynaseal/dynaseal/itest"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// TestQuickstart runs the README's main command's whole flow against
// DynamoDB Local, so the quickstart cannot rot.
func TestQuickstart(t *testing.T) {
	endpoint := itest.Endpoint(t) // fails under CI=true, skips elsewhere, when DynamoDB Local cannot start
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cfg := config{
		Endpoint:      endpoint,
		MasterKeyFile: filepath.Join(t.TempDir(), "master.key"),
		Table:         "qs-patients",
		KeyTable:      "qs-keys",
	}
	for attempt := 1; attempt <= 2; attempt++ { // a second run reuses the tables and the master key
		out.Reset()
		if err := run(ctx, &out, cfg); err != nil {
			t.Fatalf("run %d: %v\noutput:\n%s", attempt, err, out.String())
		}
		for _, want := range []string{
			"1. Two clinics write patients",
			"item failed verification",
			"belongs to another tenant",
			"sealed with key version 2: read ok",
			"shredded",
			"clinic A still reads all 3 of its records",
			"All six steps behaved as shown.",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run %d: output lacks %q:\n%s", attempt, want, out.String())
			}
		}
	}
}
