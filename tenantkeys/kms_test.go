package tenantkeys_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/itest/faultproxy"
	"github.com/dynaseal/dynaseal/itest/kmslocal"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func startKMS(t testing.TB) *kmslocal.Server {
	t.Helper()
	s, err := kmslocal.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestKMSWrapperTenantIsolation(t *testing.T) { onEachKMS(t, testKMSWrapperTenantIsolation) }

func testKMSWrapperTenantIsolation(t *testing.T, s *kmsServer) {
	ctx := context.Background()
	_, shared := s.createKey(t, "shared")
	w := tenantkeys.NewKMSWrapper(s.client, tenantkeys.SharedKey(shared))
	ka, wa, err := w.GenerateKey(ctx, ref("tenant-a", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	kb, _, err := w.GenerateKey(ctx, ref("tenant-b", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	if ka.Material == kb.Material {
		t.Fatal("tenants A and B got the same material")
	}
	// A's wrapped key does not unwrap under B's (or another class's or
	// version's) encryption context.
	for _, r := range []attrcrypt.KeyRef{ref("tenant-b", "", 1), ref("tenant-a", "payments", 1), ref("tenant-a", "", 2)} {
		if _, err := w.Unwrap(ctx, r, wa); !errors.Is(err, tenantkeys.ErrKeyCorrupt) {
			t.Errorf("unwrap A's key as %s: err = %v, want ErrKeyCorrupt", r, err)
		}
	}
	got, err := w.Unwrap(ctx, ref("tenant-a", "", 1), wa)
	if err != nil || got.Material != ka.Material || got.Ref != ref("tenant-a", "", 1) {
		t.Fatalf("unwrap as A: %v", err)
	}
	// The context is exactly EncryptionContext(ref): a plain KMS Decrypt
	// with it succeeds, so key policies can rely on its keys.
	out, err := s.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wa.Blob, EncryptionContext: map[string]string{
		"tenant": "tenant-a", "class": "default", "version": "1", "purpose": "dynaseal-tenant-key",
	}})
	if err != nil || !bytes.Equal(out.Plaintext, ka.Material[:]) {
		t.Fatalf("raw Decrypt with the documented context: %v", err)
	}
}

func TestKMSWrapperKeySelection(t *testing.T) { onEachKMS(t, testKMSWrapperKeySelection) }

func testKMSWrapperKeySelection(t *testing.T, s *kmsServer) {
	ctx := context.Background()
	keyA, arnA := s.createKey(t, "tenant a")
	s.alias(t, "tenant-a", keyA)
	byok, byokARN := s.createKey(t, "tenant c's own key")
	w := tenantkeys.NewKMSWrapper(s.client, tenantkeys.KeyMap(map[string]string{"c": byokARN}, tenantkeys.AliasPattern(s.prefix+"tenant-{tenant}")))
	wa, err := w.GenerateWrapped(ctx, ref("a", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	if wa.KeyID != arnA {
		t.Fatalf("alias pattern chose %s, want %s", wa.KeyID, arnA)
	}
	wc, err := w.GenerateWrapped(ctx, ref("c", "", 1))
	if err != nil || wc.KeyID != byokARN {
		t.Fatalf("key map chose %s (%v)", wc.KeyID, err)
	}
	// No alias for tenant b: KMS NotFound maps to ErrKeyNotFound.
	if _, err := w.GenerateWrapped(ctx, ref("b", "", 1)); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
		t.Fatalf("missing alias: err = %v", err)
	}
	strict := tenantkeys.NewKMSWrapper(s.client, tenantkeys.KeyMap(map[string]string{"c": byok}, nil))
	if _, err := strict.GenerateWrapped(ctx, ref("a", "", 1)); !errors.Is(err, tenantkeys.ErrKeyNotFound) {
		t.Fatalf("tenant missing from map: err = %v", err)
	}
	// Disabling one tenant's key affects that tenant only.
	if _, err := s.client.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(byok)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Unwrap(ctx, ref("c", "", 1), wc); !errors.Is(err, tenantkeys.ErrKeyDisabled) {
		t.Fatalf("disabled BYOK key: err = %v, want ErrKeyDisabled", err)
	}
	if _, err := w.Unwrap(ctx, ref("a", "", 1), wa); err != nil {
		t.Fatalf("other tenant after disable: %v", err)
	}
	if _, err := s.client.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyA), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Unwrap(ctx, ref("a", "", 1), wa); !errors.Is(err, tenantkeys.ErrKeyDisabled) {
		t.Fatalf("key pending deletion: err = %v, want ErrKeyDisabled", err)
	}
}

// TestKMSWrapperUnavailable injects faults with a proxy in front of either
// server: throttling, 5xx answers, dropped requests and lost answers are
// ErrKMSUnavailable, a refused connection too, and the wrapper works again
// once the faults end.
func TestKMSWrapperUnavailable(t *testing.T) { onEachKMS(t, testKMSWrapperUnavailable) }

func testKMSWrapperUnavailable(t *testing.T, s *kmsServer) {
	ctx := context.Background()
	p, err := faultproxy.New(s.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	once := func(o *kms.Options) { o.RetryMaxAttempts = 1 } // the fault decides, not a retry
	_, shared := s.createKey(t, "shared")
	w := tenantkeys.NewKMSWrapper(itest.NewKMSClient(p.URL(), once), tenantkeys.SharedKey(shared))
	_, wr, err := w.GenerateKey(ctx, ref("t", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	for name, rule := range map[string]faultproxy.Rule{
		"throttled":    faultproxy.Throttle("Decrypt"),
		"503":          faultproxy.ServerError("Decrypt", 503, "KMSInternalException"),
		"500 no body":  faultproxy.ServerError("Decrypt", 500, ""),
		"dropped":      {Operation: "Decrypt", Action: faultproxy.DropRequest},
		"answer lost":  {Operation: "Decrypt", Action: faultproxy.DropResponse},
		"failed after": {Operation: "Decrypt", Action: faultproxy.FailAfterForward, Status: 502},
	} {
		h := p.Add(rule)
		_, err := w.Unwrap(ctx, ref("t", "", 1), wr)
		if !errors.Is(err, tenantkeys.ErrKMSUnavailable) || h.Fired() != 1 {
			t.Errorf("%s: err = %v (fired %d), want ErrKMSUnavailable", name, err, h.Fired())
		}
		p.Clear()
	}
	// Nothing listening: connection refused.
	refused := tenantkeys.NewKMSWrapper(itest.NewKMSClient("http://127.0.0.1:1", once), tenantkeys.SharedKey(shared))
	if _, err := refused.Unwrap(ctx, ref("t", "", 1), wr); !errors.Is(err, tenantkeys.ErrKMSUnavailable) {
		t.Errorf("refused: err = %v, want ErrKMSUnavailable", err)
	}
	if _, err := w.Unwrap(ctx, ref("t", "", 1), wr); err != nil {
		t.Fatalf("after faults: %v", err)
	}
}
