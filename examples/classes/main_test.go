package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// TestExample runs the whole example against the shared DynamoDB Local;
// run itself checks every step's outcome.
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
		"admin: created keys corner-shop/default/v1 and corner-shop/payments/v1, both wrapped under local:k1",
		"the two keys differ",
		"wrapped corner-shop/payments/v1 presented as corner-shop/default/v1: refused (ErrKeyCorrupt)",
		`put product sku-001 "Espresso beans 1kg": ok [key corner-shop/default/v1]`,
		"put payment method pm-001, card ending 4242: ok [key corner-shop/payments/v1]",
		`get product sku-001: ok, "Espresso beans 1kg" at 18.50 [key corner-shop/default/v1]`,
		`get payment method pm-001: refused: table: tenant key: tenantkeys: access to the wrapping key denied: role "catalog" may not use key class "payments"`,
		"put payment method pm-002: refused (ErrAccessDenied)",
		"checkout role: get payment method pm-001: ok, card ending 4242 [key corner-shop/payments/v1]",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, secret := range []string{"4242424242424242", "Jane Doe", "12/29"} {
		if strings.Contains(got, secret) {
			t.Errorf("output shows the payment field %q", secret)
		}
	}
}

// TestClassFilter checks the restricted Provider on its own: the default
// class passes through, any other class is refused before the store is asked.
func TestClassFilter(t *testing.T) {
	ring, err := tenantkeys.GenerateMasterKeyFile(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	store := tenantkeys.NewMemoryStore(ring)
	ctx := t.Context()
	for _, class := range []string{"", paymentsClass} {
		if _, err := store.Create(ctx, "shop", class); err != nil {
			t.Fatal(err)
		}
	}
	f := classFilter{next: store, role: "catalog", allowed: map[string]bool{"": true}}
	k, err := f.CurrentKey(ctx, "shop", "")
	if err != nil || k.Ref.Class != "" {
		t.Fatalf("default class: %v, %v", k.Ref, err)
	}
	if _, err := f.Key(ctx, k.Ref); err != nil {
		t.Fatalf("default class by ref: %v", err)
	}
	if _, err := f.CurrentKey(ctx, "shop", paymentsClass); !errors.Is(err, tenantkeys.ErrAccessDenied) {
		t.Errorf("payments CurrentKey: %v, want ErrAccessDenied", err)
	}
	if _, err := f.Key(ctx, attrcrypt.KeyRef{Tenant: "shop", Class: paymentsClass, Version: 1}); !errors.Is(err, tenantkeys.ErrAccessDenied) {
		t.Errorf("payments Key: %v, want ErrAccessDenied", err)
	}
}
