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

// TestExample runs the whole example against the shared DynamoDB Local and
// the local KMS endpoint; run itself checks every step's outcome.
func TestExample(t *testing.T) {
	endpoint := itest.Endpoint(t) // skips, or fails when CI=true, if DynamoDB Local cannot start
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, config{endpoint: endpoint}); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	got := out.String()
	t.Logf("output:\n%s", got)
	for _, want := range []string{
		"== Layout 1: one KMS key",
		"== Layout 2: one KMS key per tenant, by alias alias/tenant-{tenant}",
		"GenerateDataKey                 alias/tenant-acme",
		"{tenant=acme class=default version=1 purpose=dynaseal-tenant-key}",
		"{tenant=globex class=default version=1 purpose=dynaseal-tenant-key} -> InvalidCiphertextException",
		"acme's wrapped key under globex's context: refused (ErrKeyCorrupt)",
		"acme's wrapped key under globex's context: refused (ErrUntrustedKey)",
		"2 Decrypt for 200 items",
		"cache stats: 2 loads (one per tenant key), 398 hits",
		"globex revokes access: DisableKey alias/tenant-globex",
		"globex read within the cache TTL: ok",
		"-> DisabledException",
		"globex read: fails (ErrKeyDisabled)",
		"acme read: ok",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(got, "\n"); n > 35 {
		t.Errorf("output has %d lines; keep it short", n)
	}
	if c := strings.Count(got, "refused (Err"); c != 2 {
		t.Errorf("wrong-context refusal shown %d times, want once per layout", c)
	}
}

func TestShortKey(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:kms:us-east-1:111122223333:key/8d34107b-1111-2222-3333-444455556666": "key/8d34107b…",
		"arn:aws:kms:us-east-1:111122223333:alias/tenant-acme":                        "alias/tenant-acme",
		"alias/tenant-acme": "alias/tenant-acme",
		"1234":              "key/1234",
	} {
		if got := shortKey(in); got != want {
			t.Errorf("shortKey(%q) = %q, want %q", in, got, want)
		}
	}
}
