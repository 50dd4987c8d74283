package kmslocal_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/dynaseal/dynaseal/itest/kmslocal"
)

func start(t *testing.T) (*kmslocal.Server, *kms.Client) {
	t.Helper()
	s, err := kmslocal.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, s.Client()
}

func createKey(t *testing.T, c *kms.Client) *types.KeyMetadata {
	t.Helper()
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("test")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return out.KeyMetadata
}

func TestEncryptDecryptByEveryKeyName(t *testing.T) {
	ctx := context.Background()
	_, c := start(t)
	md := createKey(t, c)
	if md.KeyState != types.KeyStateEnabled || !md.Enabled || md.Arn == nil {
		t.Fatalf("metadata = %+v", md)
	}
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: md.KeyId}); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	ec := map[string]string{"tenant": "t1", "purpose": "test"}
	for _, name := range []string{*md.KeyId, *md.Arn, "alias/app", kmslocal.KeyARNAlias("alias/app")} {
		enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(name), Plaintext: []byte("secret"), EncryptionContext: ec})
		if err != nil {
			t.Fatalf("Encrypt via %s: %v", name, err)
		}
		if *enc.KeyId != *md.Arn {
			t.Fatalf("Encrypt KeyId = %s, want ARN", *enc.KeyId)
		}
		// Decrypt without KeyId finds the key from the blob.
		dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(dec.Plaintext, []byte("secret")) || *dec.KeyId != *md.Arn {
			t.Fatalf("Decrypt = %q %s", dec.Plaintext, *dec.KeyId)
		}
		dec, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(name), CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
		if err != nil || !bytes.Equal(dec.Plaintext, []byte("secret")) {
			t.Fatalf("Decrypt with KeyId %s: %v", name, err)
		}
	}
	d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/app")})
	if err != nil || *d.KeyMetadata.KeyId != *md.KeyId {
		t.Fatalf("DescribeKey by alias: %v", err)
	}
	la, err := c.ListAliases(ctx, &kms.ListAliasesInput{})
	if err != nil || len(la.Aliases) != 1 || *la.Aliases[0].TargetKeyId != *md.KeyId {
		t.Fatalf("ListAliases: %v %+v", err, la)
	}
}

func TestEncryptionContextIsBound(t *testing.T) {
	ctx := context.Background()
	_, c := start(t)
	md := createKey(t, c)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"tenant": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ec := range []map[string]string{{"tenant": "b"}, nil, {"tenant": "a", "extra": "1"}} {
		_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
		var ice *types.InvalidCiphertextException
		if !errors.As(err, &ice) {
			t.Fatalf("context %v: err = %v, want InvalidCiphertextException", ec, err)
		}
	}
	// A blob from another key, named by KeyId, is refused.
	other := createKey(t, c)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: other.KeyId, CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"tenant": "a"}})
	var ike *types.IncorrectKeyException
	if !errors.As(err, &ike) {
		t.Fatalf("wrong KeyId: err = %v, want IncorrectKeyException", err)
	}
	// A flipped bit fails.
	blob := bytes.Clone(enc.CiphertextBlob)
	blob[len(blob)-1] ^= 1
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob, EncryptionContext: map[string]string{"tenant": "a"}})
	var ice *types.InvalidCiphertextException
	if !errors.As(err, &ice) {
		t.Fatalf("flipped blob: err = %v", err)
	}
}

func TestGenerateDataKey(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	md := createKey(t, c)
	ec := map[string]string{"tenant": "t"}
	g, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.KeyId, NumberOfBytes: aws.Int32(32), EncryptionContext: ec})
	if err != nil || len(g.Plaintext) != 32 {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	d, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: g.CiphertextBlob, EncryptionContext: ec})
	if err != nil || !bytes.Equal(d.Plaintext, g.Plaintext) {
		t.Fatalf("Decrypt data key: %v", err)
	}
	w, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: md.KeyId, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		t.Fatalf("GenerateDataKeyWithoutPlaintext: %v", err)
	}
	d, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: w.CiphertextBlob, EncryptionContext: ec})
	if err != nil || len(d.Plaintext) != 32 {
		t.Fatalf("Decrypt: %v", err)
	}
	if got := s.Calls("Decrypt"); got != 2 {
		t.Fatalf("Decrypt calls = %d, want 2", got)
	}
	if got := s.Calls("GenerateDataKey"); got != 1 {
		t.Fatalf("GenerateDataKey calls = %d, want 1", got)
	}
}

func TestKeyStates(t *testing.T) {
	ctx := context.Background()
	_, c := start(t)
	md := createKey(t, c)
	ec := map[string]string{"tenant": "t"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	var de *types.DisabledException
	if !errors.As(err, &de) {
		t.Fatalf("disabled: err = %v", err)
	}
	if _, err := c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec}); err != nil {
		t.Fatalf("re-enabled: %v", err)
	}
	sk, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.KeyId, PendingWindowInDays: aws.Int32(7)})
	if err != nil || sk.KeyState != types.KeyStatePendingDeletion || sk.DeletionDate == nil {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	var ise *types.KMSInvalidStateException
	if !errors.As(err, &ise) {
		t.Fatalf("pending deletion: err = %v", err)
	}
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/missing")})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("missing alias: err = %v", err)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("00000000-0000-0000-0000-000000000000"), Plaintext: []byte("x")})
	if !errors.As(err, &nf) {
		t.Fatalf("missing key: err = %v", err)
	}
}

func TestFaultInjection(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	md := createKey(t, c)

	// Two throttled answers exhaust the client's two attempts.
	s.ThrottleNext(2)
	_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Fatalf("throttled: err = %v", err)
	}
	if got := s.Calls("DescribeKey"); got != 2 {
		t.Fatalf("DescribeKey calls = %d, want 2 (one retry)", got)
	}
	// One throttle is absorbed by the retry.
	s.ThrottleNext(1)
	if _, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId}); err != nil {
		t.Fatalf("after one throttle: %v", err)
	}
	s.ThrottleRate(1)
	if _, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId}); err == nil {
		t.Fatal("rate 1: want error")
	}
	s.ThrottleRate(0)

	s.SetOutage(kmslocal.Outage503)
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	var ie *types.KMSInternalException
	if !errors.As(err, &ie) {
		t.Fatalf("503 outage: err = %v", err)
	}
	s.ResetCalls()
	s.SetOutage(kmslocal.OutageDrop)
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("drop outage: err = %v, want a transport error", err)
	}
	if got := s.Calls("DescribeKey"); got != 0 {
		t.Fatalf("calls during drop outage = %d", got)
	}
	s.SetOutage(kmslocal.OutageNone)
	if _, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId}); err != nil {
		t.Fatalf("after outage: %v", err)
	}
	if err := s.SetOutage(kmslocal.OutageRefuse); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("refuse outage: err = %v, want connection refused", err)
	}
	if err := s.SetOutage(kmslocal.OutageNone); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId}); err != nil {
		t.Fatalf("after refuse outage: %v", err)
	}
	if _, err := c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(4)}); err == nil || !strings.Contains(err.Error(), "UnknownOperation") {
		t.Fatalf("unsupported op: err = %v", err)
	}
}

// TestSetAliasStrict: the setup helper refuses what CreateAlias refuses: a
// key pending deletion, and an alias as the target.
func TestSetAliasStrict(t *testing.T) {
	ctx := context.Background()
	s, c := start(t)
	id := s.CreateKey("k")
	if err := s.SetAlias("alias/k", id); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias("alias/k2", "alias/k"); err == nil {
		t.Error("SetAlias accepted an alias as the target")
	}
	if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias("alias/late", id); err == nil || !strings.Contains(err.Error(), "KMSInvalidStateException") {
		t.Errorf("SetAlias to a key pending deletion: err = %v", err)
	}
}
