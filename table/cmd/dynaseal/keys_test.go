package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/dynaseal/dynaseal/itest/kmslocal"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// TestKeyLifecycle runs every key command against DynamoDB Local and checks
// each one's effect through the key store itself, not only the output.
func TestKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	v := decodeJSON[versionJSON](t, f.run(t, "keys", "create", "--tenant", "acme", "--json").ok(t, "create").stdout)
	if v.Tenant != "acme" || v.Version != 1 || !v.Current || v.WrappingKey == "" {
		t.Fatalf("create printed %+v", v)
	}
	f.run(t, "keys", "create", "--tenant", "acme").want(t, "second create", exitFailed, "")

	f.write(t, &record{Tenant: "acme", ID: "r1", Name: "Ada", Email: "ada@example.com", Plan: "pro", Score: 7, Tags: []string{"a"}})

	// Flags may come before the command name too.
	out := f.run(t, "--json", "keys", "rotate", "--tenant", "acme").ok(t, "rotate").stdout
	if v := decodeJSON[versionJSON](t, out); v.Version != 2 || !v.Current {
		t.Fatalf("rotate printed %+v", v)
	}
	if k, err := f.store.CurrentKey(ctx, "acme", ""); err != nil || k.Ref.Version != 2 {
		t.Fatalf("store after rotate: %v %v", k.Ref, err)
	}

	vs := decodeJSON[[]versionJSON](t, f.run(t, "keys", "versions", "--tenant", "acme", "--json").ok(t, "versions").stdout)
	if len(vs) != 2 || vs[0].Version != 1 || vs[0].Current || vs[1].Version != 2 || !vs[1].Current {
		t.Fatalf("versions printed %+v", vs)
	}
	text := f.run(t, "keys", "versions", "--tenant", "acme").ok(t, "versions text").stdout
	if !strings.Contains(text, "VERSION") || strings.Count(text, "\n") != 3 {
		t.Errorf("versions text:\n%s", text)
	}

	f.run(t, "keys", "disable", "--tenant", "acme").ok(t, "disable")
	if _, err := f.store.CurrentKey(ctx, "acme", ""); !errorsIs(err, tenantkeys.ErrKeyDisabled) {
		t.Fatalf("after disable: %v, want ErrKeyDisabled", err)
	}
	vs = decodeJSON[[]versionJSON](t, f.run(t, "keys", "versions", "--tenant", "acme", "--json").ok(t, "versions").stdout)
	if !vs[0].Disabled || !vs[1].Disabled {
		t.Errorf("versions after disable: %+v", vs)
	}
	f.run(t, "keys", "enable", "--tenant", "acme").ok(t, "enable")
	if _, err := f.store.CurrentKey(ctx, "acme", ""); err != nil {
		t.Fatalf("after enable: %v", err)
	}

	// Retire needs --yes and a floor; refused, nothing changes.
	f.run(t, "keys", "retire", "--tenant", "acme", "--below", "2").want(t, "retire without --yes", exitUsage, "--yes")
	f.run(t, "keys", "retire", "--tenant", "acme", "--yes").want(t, "retire without --below", exitUsage, "--below")
	if _, err := f.store.Key(ctx, refOf("acme", 1)); err != nil {
		t.Fatalf("version 1 after refused retire: %v", err)
	}
	f.run(t, "keys", "retire", "--tenant", "acme", "--below", "2", "--yes").ok(t, "retire")
	if _, err := f.store.Key(ctx, refOf("acme", 1)); !errorsIs(err, tenantkeys.ErrKeyRetired) {
		t.Fatalf("version 1 after retire: %v, want ErrKeyRetired", err)
	}
	if vs := decodeJSON[[]versionJSON](t, f.run(t, "keys", "versions", "--tenant", "acme", "--json").ok(t, "versions").stdout); len(vs) != 1 || vs[0].Version != 2 {
		t.Fatalf("versions after retire: %+v", vs)
	}

	// Rewrap after appending a master key: the version moves to the new one.
	ring, err := tenantkeys.RotateMasterKeyFile(f.masterKey)
	if err != nil {
		t.Fatal(err)
	}
	f.run(t, "keys", "rewrap", "--tenant", "acme").ok(t, "rewrap")
	vs = decodeJSON[[]versionJSON](t, f.run(t, "keys", "versions", "--tenant", "acme", "--json").ok(t, "versions").stdout)
	if !strings.HasSuffix(vs[0].WrappingKey, ":"+ring.Newest()) || ring.Newest() == ring.IDs()[0] {
		t.Fatalf("after rewrap the key is wrapped by %q, want %q", vs[0].WrappingKey, ring.Newest())
	}
	// A keyring holding only the new master key unwraps it.
	onlyNew, err := tenantkeys.ParseKeyring([]byte(lastLine(t, f.masterKey)))
	if err != nil {
		t.Fatal(err)
	}
	f.store = tenantkeys.NewDynamoDBStore(f.db, f.keyTable, onlyNew)
	if _, err := f.store.CurrentKey(ctx, "acme", ""); err != nil {
		t.Fatalf("new master key alone after rewrap: %v", err)
	}

	// Shred needs --yes; refused, the tenant still has its key.
	f.run(t, "keys", "shred", "--tenant", "acme").want(t, "shred without --yes", exitUsage, "--yes")
	if _, err := f.store.CurrentKey(ctx, "acme", ""); err != nil {
		t.Fatalf("after refused shred: %v", err)
	}
	f.run(t, "keys", "shred", "--tenant", "acme", "--yes").ok(t, "shred")
	if _, err := f.store.CurrentKey(ctx, "acme", ""); !errorsIs(err, tenantkeys.ErrKeyShredded) {
		t.Fatalf("after shred: %v, want ErrKeyShredded", err)
	}
	f.run(t, "keys", "versions", "--tenant", "acme").want(t, "versions after shred", exitFailed, "shredded")
	f.run(t, "keys", "create", "--tenant", "acme").want(t, "create after shred", exitFailed, "shredded")
	f.run(t, "keys", "reopen", "--tenant", "acme").ok(t, "reopen")
	if v := decodeJSON[versionJSON](t, f.run(t, "keys", "create", "--tenant", "acme", "--json").ok(t, "create after reopen").stdout); v.Version <= 2 {
		t.Fatalf("a reopened tenant's new key is version %d, want above the destroyed 2", v.Version)
	}
}

// TestKeysUsage checks the refusals that need no AWS call.
func TestKeysUsage(t *testing.T) {
	f := newFixture(t)
	f.run(t, "keys", "create").want(t, "no tenant", exitUsage, "--tenant")
	f.run(t, "keys", "frob", "--tenant", "x").want(t, "unknown", exitUsage, "unknown command")
	f.run(t, "keys", "create", "--tenant", "x", "extra").want(t, "positional", exitUsage, "unexpected argument")
	f.run(t, "keys", "create", "--tenant", "x", "--kms-key", "alias/k").want(t, "two wrapping keys", exitUsage, "exactly one")
	f.run(t, "keys", "create", "--tenant", "x", "--class", "bad#class").want(t, "bad class", exitFailed, "invalid")
	f.run(t, "keys").want(t, "group without command", exitUsage, "")
	f.run(t, "inspect", "--table", "no-such-table", "--pk", "x").want(t, "missing table", exitFailed, "DescribeTable no-such-table failed: ResourceNotFoundException (HTTP 400)")
	f.run(t, "keys", "versions", "--tenant", "x", "--key-table", "no-such-keys").want(t, "missing key table", exitFailed, "key store unavailable")
	f.run(t, "--bogus").want(t, "unknown flag", exitUsage, "bogus")
	for _, args := range [][]string{{"keys", "--help"}, {"help", "keys"}, {"help", "inspect"}, {"help"}, {"reencrypt", "-h"}} {
		if r := f.run(t, args...).ok(t, strings.Join(args, " ")); !strings.Contains(r.stdout, "dynaseal") || r.stderr != "" {
			t.Errorf("%v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
}

// TestKeysKMS runs the key commands with KMS wrapping, through the real KMS
// client over HTTP against itest/kmslocal.
func TestKeysKMS(t *testing.T) {
	f := newFixture(t)
	srv, err := kmslocal.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	keyID := srv.CreateKey("dynaseal test")
	if err := srv.SetAlias("alias/dynaseal", keyID); err != nil {
		t.Fatal(err)
	}
	kmsArgs := func(args ...string) []string {
		return append([]string{"--master-key-file", "", "--kms-key", "alias/dynaseal", "--kms-endpoint-url", srv.URL()}, args...)
	}
	v := decodeJSON[versionJSON](t, f.run(t, kmsArgs("keys", "create", "--tenant", "kms-t", "--json")...).ok(t, "create").stdout)
	if v.Version != 1 {
		t.Fatalf("create printed %+v", v)
	}
	f.run(t, kmsArgs("keys", "rotate", "--tenant", "kms-t")...).ok(t, "rotate")
	if srv.Calls("GenerateDataKey") < 2 {
		t.Errorf("KMS saw %v, want two GenerateDataKey", srv.AllCalls())
	}
	vs := decodeJSON[[]versionJSON](t, f.run(t, kmsArgs("keys", "versions", "--tenant", "kms-t", "--json")...).ok(t, "versions").stdout)
	if len(vs) != 2 {
		t.Fatalf("versions: %+v", vs)
	}
	// The local master key cannot unwrap what KMS wrapped.
	f.run(t, "keys", "rotate", "--tenant", "kms-t").want(t, "rotate with the wrong wrapping key", exitFailed, "not allowed")

	// Rewrap to a second KMS key: the versions move, the new key alone
	// then serves, the old one no longer does.
	key2 := srv.CreateKey("dynaseal test 2")
	if err := srv.SetAlias("alias/dynaseal-2", key2); err != nil {
		t.Fatal(err)
	}
	newArgs := func(args ...string) []string {
		return append([]string{"--master-key-file", "", "--kms-key", "alias/dynaseal-2", "--kms-endpoint-url", srv.URL()}, args...)
	}
	f.run(t, newArgs("keys", "rewrap", "--tenant", "kms-t", "--from-kms-key", "alias/dynaseal")...).ok(t, "rewrap")
	moved := decodeJSON[[]versionJSON](t, f.run(t, newArgs("keys", "versions", "--tenant", "kms-t", "--json")...).ok(t, "versions").stdout)
	for i, v := range moved {
		if v.WrappingKey == vs[i].WrappingKey || !strings.Contains(v.WrappingKey, key2) {
			t.Errorf("version %d wrapped by %q after rewrap (was %q, want key %s)", v.Version, v.WrappingKey, vs[i].WrappingKey, key2)
		}
	}
	f.run(t, newArgs("keys", "rotate", "--tenant", "kms-t")...).ok(t, "rotate under the new key")
	f.run(t, kmsArgs("keys", "rotate", "--tenant", "kms-t")...).want(t, "rotate under the old key", exitFailed, "not allowed")
}

// lastLine returns the last non-empty line of a keyring file (its newest key).
func lastLine(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
