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
// each local KMS: the in-process kmslocal and local-kms, an independent
// emulator; run itself checks every step's outcome.
func TestExample(t *testing.T) {
	for _, server := range []string{"kmslocal", "local-kms"} {
		t.Run(server, func(t *testing.T) {
			cfg := config{endpoint: itest.Endpoint(t)} // skips, or fails when CI=true, if DynamoDB Local cannot start
			if server == "local-kms" {
				cfg.kmsEndpoint = itest.LocalKMSEndpoint(t)
			}
			testExample(t, cfg, server)
		})
	}
}

func testExample(t *testing.T, cfg config, server string) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, cfg); err != nil {
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
	if n := strings.Count(got, "\n"); n > 37 { // Create also makes each tenant's beacon key: two more GenerateDataKey lines
		t.Errorf("output has %d lines; keep it short", n)
	}
	// With per-tenant keys, Decrypt names globex's alias for a blob made
	// under acme's key: KMS (and kmslocal) answer IncorrectKeyException,
	// ErrUntrustedKey; local-kms answers InvalidCiphertextException,
	// ErrKeyCorrupt (itest/kmslocal/CONFORMANCE.md). Both refuse.
	layout2 := "acme's wrapped key under globex's context: refused (ErrUntrustedKey)"
	if server == "local-kms" {
		layout2 = "acme's wrapped key under globex's context: refused (ErrKeyCorrupt)\n"
		if c := strings.Count(got, "refused (ErrKeyCorrupt)"); c != 2 {
			t.Errorf("local-kms: ErrKeyCorrupt refusal shown %d times, want once per layout", c)
		}
	}
	if !strings.Contains(got, layout2) {
		t.Errorf("output lacks %q", layout2)
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
