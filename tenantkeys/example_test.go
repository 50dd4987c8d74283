package tenantkeys_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// A development master key kept in the user's config directory, created
// once with mode 0600 and loaded on later runs.
func ExampleGenerateMasterKeyFile() {
	dir, _ := os.MkdirTemp("", "dynaseal-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "dynaseal", "master.key") // e.g. tenantkeys.DefaultMasterKeyPath()

	kr, err := tenantkeys.LoadKeyringFile(path)
	if errors.Is(err, os.ErrNotExist) {
		kr, err = tenantkeys.GenerateMasterKeyFile(path)
	}
	if err != nil {
		log.Fatal(err)
	}
	st, _ := os.Stat(path)
	fmt.Println("master key", kr.Newest(), "mode", st.Mode().Perm())
	// Output: master key k1 mode -rw-------
}

// The master key may also come from an environment variable, hex or
// base64, several versions separated by ';' (newest last).
func ExampleKeyringFromEnv() {
	// In real use the variable is set by the deployment, never in code.
	os.Setenv("EXAMPLE_MASTER_KEY", "k1:"+exampleHexKey())
	defer os.Unsetenv("EXAMPLE_MASTER_KEY")
	kr, err := tenantkeys.KeyringFromEnv("EXAMPLE_MASTER_KEY")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(kr.IDs())
	// Output: [k1]
}

// exampleHexKey stands in for a key an operator generated (for example
// with "openssl rand -hex 32"); it is random at every run.
func exampleHexKey() string {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		log.Fatal(err)
	}
	return hex.EncodeToString(k[:])
}

// The key store without AWS: a local master key wraps the tenant keys, kept
// in memory. NewDynamoDBStore takes the same Wrapper and options.
func ExampleNewMemoryStore() {
	ctx := context.Background()
	kr := exampleKeyring()
	store := tenantkeys.NewMemoryStore(kr)

	// Admin side.
	if _, err := store.Create(ctx, "acme", ""); err != nil {
		log.Fatal(err)
	}
	if _, err := store.Rotate(ctx, "acme", ""); err != nil {
		log.Fatal(err)
	}

	// Application side: seal with the current key, open with the version
	// recorded in the item.
	cur, err := store.CurrentKey(ctx, "acme", "")
	if err != nil {
		log.Fatal(err)
	}
	old, err := store.Key(ctx, attrcrypt.KeyRef{Tenant: "acme", Version: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cur.Ref)
	fmt.Println(old.Ref)
	fmt.Println(cur) // never prints key material

	if err := store.Shred(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	_, err = store.Key(ctx, attrcrypt.KeyRef{Tenant: "acme", Version: 1})
	fmt.Println(errors.Is(err, tenantkeys.ErrKeyShredded))
	// Output:
	// tenant="acme" class="default" version=2
	// tenant="acme" class="default" version=1
	// attrcrypt.Key{tenant="acme" class="default" version=2 material=[REDACTED]}
	// true
}

// A cache in front of any provider: one unwrap per key per TTL, however
// many goroutines ask.
func ExampleNewCache() {
	ctx := context.Background()
	store := tenantkeys.NewMemoryStore(exampleKeyring(), tenantkeys.WithCreateOnFirstUse(true))
	keys := tenantkeys.NewCache(store, tenantkeys.WithTTL(5*time.Minute), tenantkeys.WithMaxEntries(10000))
	for range 3 {
		if _, err := keys.CurrentKey(ctx, "acme", "payments"); err != nil {
			log.Fatal(err)
		}
	}
	st := keys.Stats()
	fmt.Printf("hits=%d misses=%d loads=%d\n", st.Hits, st.Misses, st.Loads)
	// Output: hits=2 misses=1 loads=1
}

// Audit events to slog: tenant, class, version and wrapping key id, never
// key bytes.
func ExampleSlogAudit() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "kms_key_id" {
				return slog.Attr{} // keep the example's output stable
			}
			return a
		},
	}))
	store := tenantkeys.NewMemoryStore(exampleKeyring(), tenantkeys.WithAudit(tenantkeys.SlogAudit(logger)))
	if _, err := store.Create(context.Background(), "acme", ""); err != nil {
		log.Fatal(err)
	}
	// Output:
	// level=INFO msg="dynaseal key event" event=create tenant=acme class=__beacon version=1
	// level=INFO msg="dynaseal key event" event=create tenant=acme class=default version=1
}

// Production wiring with AWS KMS and a DynamoDB key store table. Not run:
// it needs AWS credentials.
func ExampleNewKMSWrapper() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// One KMS key per tenant by alias; tenant "bigco" brings its own key.
	wrapper := tenantkeys.NewKMSWrapper(kms.NewFromConfig(cfg), tenantkeys.KeyMap(
		map[string]string{"bigco": "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		tenantkeys.AliasPattern("alias/tenant-{tenant}"),
	))
	store := tenantkeys.NewDynamoDBStore(dynamodb.NewFromConfig(cfg), "dynaseal-keys", wrapper)
	var provider tenantkeys.Provider = tenantkeys.NewCache(store) // give the application only this
	_ = provider
}

func exampleKeyring() *tenantkeys.Keyring {
	dir, err := os.MkdirTemp("", "dynaseal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	kr, err := tenantkeys.GenerateMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		log.Fatal(err)
	}
	return kr
}
