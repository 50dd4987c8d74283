// Command kms shows dynaseal's key store with KMS wrapping: per-tenant data
// keys kept in a DynamoDB key store table, each wrapped by KMS under an
// encryption context that names the tenant.
//
// It runs two layouts: one KMS key shared by every tenant, and one KMS key per
// tenant chosen by the alias pattern alias/tenant-{tenant}. For each it prints
// the encryption context of every KMS call, shows that one tenant's wrapped key
// does not unwrap under another tenant's context, and counts KMS calls while
// 200 items are written and read through the key cache (one call per tenant
// key, not per item). With per-tenant keys it disables the second tenant's KMS
// key, as a tenant revoking access would, and shows that tenant's reads fail
// once its cache entry expires while the first tenant keeps working.
//
// By default it starts DynamoDB Local (or uses $DYNAMODB_ENDPOINT) and a local
// KMS-compatible endpoint, so no AWS account is needed:
//
//	go run ./examples/kms
//
// Against real AWS (default credential chain; the tables it creates are
// deleted at the end; the revocation step disables and then re-enables the
// second tenant's key, so it needs kms:DisableKey and kms:EnableKey):
//
//	go run ./examples/kms -endpoint aws -region eu-west-1 \
//	    -kms-key arn:aws:kms:...:key/... -kms-alias-pattern 'alias/tenant-{tenant}'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/itest/kmslocal"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// Invoice is the example's item type: the partition key is the tenant, the
// customer and amount are encrypted with the tenant's key, the rest is signed.
type Invoice struct {
	Tenant   string `dynamodbav:"tenant"   seal:"pk,tenant"`
	ID       string `dynamodbav:"id"       seal:"sk"`
	Customer string `dynamodbav:"customer" seal:"encrypt"`
	Amount   int64  `dynamodbav:"amount"   seal:"encrypt"` // cents
	Currency string `dynamodbav:"currency"`
}

type config struct {
	// endpoint selects DynamoDB: "" starts DynamoDB Local (or uses
	// $DYNAMODB_ENDPOINT), "aws" is real DynamoDB, anything else is the URL
	// of a running DynamoDB Local.
	endpoint string
	// region is the AWS region for real DynamoDB and KMS.
	region string
	// kmsKey (layout 1) and kmsAliasPattern (layout 2) select real KMS keys;
	// when both are empty the example runs against a local KMS endpoint.
	kmsKey, kmsAliasPattern string
	// tenants are the two tenants of the demo.
	tenants [2]string
	// items is how many invoices are written and read per layout.
	items int
}

func main() {
	cfg := config{items: 200}
	var tenants string
	flag.StringVar(&cfg.endpoint, "endpoint", "", `DynamoDB: "" starts DynamoDB Local, "aws" uses real DynamoDB, or a DynamoDB Local URL`)
	flag.StringVar(&cfg.region, "region", "", "AWS region for real DynamoDB and KMS (default: from the AWS config)")
	flag.StringVar(&cfg.kmsKey, "kms-key", "", "real KMS key (id, ARN or alias) shared by all tenants; empty: local KMS")
	flag.StringVar(&cfg.kmsAliasPattern, "kms-alias-pattern", "", "real KMS alias pattern for per-tenant keys, e.g. alias/tenant-{tenant}; empty: local KMS")
	flag.StringVar(&tenants, "tenants", "acme,globex", "two comma-separated tenant ids")
	flag.Parse()
	t := strings.Split(tenants, ",")
	if len(t) != 2 || t[0] == "" || t[1] == "" || t[0] == t[1] {
		fmt.Fprintln(os.Stderr, "kms: -tenants wants two distinct tenant ids")
		os.Exit(2)
	}
	cfg.tenants = [2]string{t[0], t[1]}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "kms:", err)
		stop()
		os.Exit(1)
	}
}

// env holds the clients and counters one run uses.
type env struct {
	out     io.Writer
	ddb     *dynamodb.Client
	kms     *kms.Client
	rec     *recorder
	local   *kmslocal.Server // nil against real KMS
	tenants [2]string
	items   int
	cleanup []func(context.Context) error
}

func run(ctx context.Context, out io.Writer, cfg config) (err error) {
	if cfg.tenants == ([2]string{}) {
		cfg.tenants = [2]string{"acme", "globex"}
	}
	if cfg.items < 2 {
		cfg.items = 200
	}
	e := &env{out: out, tenants: cfg.tenants, items: cfg.items}
	defer func() {
		// Clean up even if ctx was cancelled, in reverse order.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for i := len(e.cleanup) - 1; i >= 0; i-- {
			err = errors.Join(err, e.cleanup[i](cctx))
		}
	}()

	realKMS := cfg.kmsKey != "" || cfg.kmsAliasPattern != ""
	var awsCfg aws.Config
	if realKMS || cfg.endpoint == "aws" {
		var opts []func(*awsconfig.LoadOptions) error
		if cfg.region != "" {
			opts = append(opts, awsconfig.WithRegion(cfg.region))
		}
		if awsCfg, err = awsconfig.LoadDefaultConfig(ctx, opts...); err != nil {
			return fmt.Errorf("load AWS config: %w", err)
		}
	}

	var ddbDesc string
	switch cfg.endpoint {
	case "":
		d, err := itest.StartDynamoDB(ctx)
		if err != nil {
			return fmt.Errorf("start DynamoDB Local: %w", err)
		}
		e.cleanup = append(e.cleanup, func(context.Context) error { return d.Close() })
		e.ddb = itest.NewDynamoDBClient(d.Endpoint())
		ddbDesc = fmt.Sprintf("DynamoDB Local (%s) at %s", d.Source(), d.Endpoint())
	case "aws":
		e.ddb = dynamodb.NewFromConfig(awsCfg)
		ddbDesc = "DynamoDB in " + awsCfg.Region
	default:
		e.ddb = itest.NewDynamoDBClient(cfg.endpoint)
		ddbDesc = "DynamoDB Local at " + cfg.endpoint
	}

	var kmsDesc string
	if realKMS {
		e.kms = kms.NewFromConfig(awsCfg)
		kmsDesc = "AWS KMS in " + awsCfg.Region
	} else {
		srv, err := kmslocal.Start()
		if err != nil {
			return fmt.Errorf("start local KMS: %w", err)
		}
		e.cleanup = append(e.cleanup, func(context.Context) error { srv.Close(); return nil })
		e.local, e.kms = srv, srv.Client()
		kmsDesc = "local KMS endpoint at " + srv.URL()
	}
	e.rec = &recorder{api: e.kms, out: out}
	fmt.Fprintf(out, "dynaseal KMS example: %s; %s\n", ddbDesc, kmsDesc)

	// Layout 1: one KMS key for every tenant.
	shared := cfg.kmsKey
	if !realKMS {
		shared = kmslocal.KeyARN(e.local.CreateKey("dynaseal example: shared tenant-key wrapping key"))
	}
	if shared == "" {
		fmt.Fprintln(out, "\n(layout 1 skipped: no -kms-key)")
	} else {
		fmt.Fprintf(out, "\n== Layout 1: one KMS key (%s) wraps every tenant's data key\n", shortKey(shared))
		if err := e.layout(ctx, "shared", tenantkeys.SharedKey(shared), nil); err != nil {
			return fmt.Errorf("layout 1 (shared key): %w", err)
		}
	}

	// Layout 2: one KMS key per tenant, found by alias.
	pattern := cfg.kmsAliasPattern
	if !realKMS {
		pattern = "alias/tenant-{tenant}"
		for _, t := range e.tenants {
			id := e.local.CreateKey("dynaseal example: key of tenant " + t)
			if err := e.local.SetAlias(aliasFor(pattern, t), id); err != nil {
				return fmt.Errorf("create alias: %w", err)
			}
		}
	}
	if pattern == "" {
		fmt.Fprintln(out, "\n(layout 2 skipped: no -kms-alias-pattern)")
	} else {
		fmt.Fprintf(out, "\n== Layout 2: one KMS key per tenant, by alias %s\n", pattern)
		if err := e.layout(ctx, "pertenant", tenantkeys.AliasPattern(pattern), func(t string) string { return aliasFor(pattern, t) }); err != nil {
			return fmt.Errorf("layout 2 (per-tenant keys): %w", err)
		}
	}
	return nil
}

// layout runs the demo for one KMS key layout. perTenant, when not nil,
// names each tenant's own KMS key, and enables the revocation step.
func (e *env) layout(ctx context.Context, name string, choose tenantkeys.KeySelector, perTenant func(tenant string) string) error {
	a, b := e.tenants[0], e.tenants[1]
	suffix := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	keysTable, invTable := "dynaseal-example-keys-"+suffix, "dynaseal-example-invoices-"+suffix
	if err := e.createTables(ctx, keysTable, invTable); err != nil {
		return err
	}

	wrapper := tenantkeys.NewKMSWrapper(e.rec, choose)
	store := tenantkeys.NewDynamoDBStore(e.ddb, keysTable, wrapper)
	e.rec.reset()
	if e.local != nil {
		e.local.ResetCalls()
	}

	// Admin role: create each tenant's data key (GenerateDataKey).
	var admin tenantkeys.Admin = store
	for _, t := range e.tenants {
		if _, err := admin.Create(ctx, t, ""); err != nil {
			return fmt.Errorf("create key of %s: %w", t, err)
		}
	}

	// A's wrapped data key, presented with B's encryption context, is refused.
	vs, err := admin.Versions(ctx, a, "")
	if err != nil || len(vs) != 1 {
		return fmt.Errorf("versions of %s: %d, %w", a, len(vs), err)
	}
	k, err := wrapper.Unwrap(ctx, attrcrypt.KeyRef{Tenant: b, Version: vs[0].Ref.Version}, vs[0].Wrapped)
	k.Zero()
	// One shared key: the context does not match (ErrKeyCorrupt). One key
	// per tenant: the blob is under a key b's configuration does not allow
	// (ErrUntrustedKey).
	switch {
	case errors.Is(err, tenantkeys.ErrKeyCorrupt):
		fmt.Fprintf(e.out, "  %s's wrapped key under %s's context: refused (ErrKeyCorrupt)\n", a, b)
	case errors.Is(err, tenantkeys.ErrUntrustedKey):
		fmt.Fprintf(e.out, "  %s's wrapped key under %s's context: refused (ErrUntrustedKey)\n", a, b)
	default:
		return fmt.Errorf("unwrapping %s's key under %s's context: want ErrKeyCorrupt or ErrUntrustedKey, got %v", a, b, err)
	}

	// Application role: a Provider behind a cache. The clock is the example's
	// so that the TTL can pass without waiting.
	clk := &manualClock{now: time.Now()}
	const ttl = tenantkeys.DefaultCacheTTL
	cache := tenantkeys.NewCache(store, tenantkeys.WithTTL(ttl), tenantkeys.WithClock(clk.Now))
	invoices, err := table.New[Invoice](e.ddb, invTable, cache)
	if err != nil {
		return fmt.Errorf("table: %w", err)
	}

	before := e.calls()
	if err := e.writeAndRead(ctx, invoices); err != nil {
		return err
	}
	after := e.calls()
	decrypts := after["Decrypt"] - before["Decrypt"]
	fmt.Fprintf(e.out, "  wrote and read %d invoices (%d per tenant) through the key cache\n", e.items, e.items/len(e.tenants))
	fmt.Fprintf(e.out, "  %s: before %s, after %s: %d Decrypt for %d items\n", e.callSource(), fmtCalls(before), fmtCalls(after), decrypts, e.items)
	if decrypts != len(e.tenants) || countAll(after)-countAll(before) != decrypts {
		return fmt.Errorf("KMS calls for %d items: want %d Decrypt and nothing else, got %s -> %s", e.items, len(e.tenants), fmtCalls(before), fmtCalls(after))
	}
	st := cache.Stats()
	fmt.Fprintf(e.out, "  cache stats: %d loads (one per tenant key), %d hits, %d misses\n", st.Loads, st.Hits, st.Misses)
	if st.Loads != uint64(len(e.tenants)) {
		return fmt.Errorf("cache loads: want %d (one per tenant key), got %d", len(e.tenants), st.Loads)
	}

	if perTenant == nil {
		return nil
	}
	return e.revoke(ctx, invoices, clk, ttl, perTenant(b))
}

// revoke disables tenant B's KMS key and shows B's reads failing once the
// cache TTL has passed, while tenant A keeps reading.
func (e *env) revoke(ctx context.Context, invoices *table.Table[Invoice], clk *manualClock, ttl time.Duration, keyB string) error {
	a, b := e.tenants[0], e.tenants[1]
	desc, err := e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyB)})
	if err != nil {
		return fmt.Errorf("describe %s: %w", keyB, err)
	}
	keyID := desc.KeyMetadata.KeyId
	if _, err := e.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: keyID}); err != nil {
		return fmt.Errorf("disable %s: %w", keyB, err)
	}
	e.cleanup = append(e.cleanup, func(ctx context.Context) error {
		if _, err := e.kms.EnableKey(ctx, &kms.EnableKeyInput{KeyId: keyID}); err != nil {
			return fmt.Errorf("re-enable %s: %w", keyB, err)
		}
		return nil
	})
	fmt.Fprintf(e.out, "  %s revokes access: DisableKey %s\n", b, keyB)

	key := table.SortKey(table.S(invoiceID(0)))
	if _, err := invoices.For(b).Get(ctx, key); err != nil {
		return fmt.Errorf("read of %s within the TTL: %w", b, err)
	}
	fmt.Fprintf(e.out, "  %s read within the cache TTL: ok (cached key)\n", b)

	fmt.Fprintf(e.out, "  cache clock advanced past the TTL (%s):\n", ttl)
	deadline := time.Now().Add(time.Minute)
	for {
		clk.Advance(ttl + time.Second)
		_, err = invoices.For(b).Get(ctx, key)
		if err != nil || e.local != nil || time.Now().After(deadline) {
			break
		}
		// Real KMS applies DisableKey within seconds, not at once.
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
	if !errors.Is(err, tenantkeys.ErrKeyDisabled) {
		return fmt.Errorf("read of %s after revocation: want ErrKeyDisabled, got %v", b, err)
	}
	fmt.Fprintf(e.out, "  %s read: fails (ErrKeyDisabled)\n", b)
	if _, err := invoices.For(a).Get(ctx, key); err != nil {
		return fmt.Errorf("read of %s after %s's revocation: %w", a, b, err)
	}
	fmt.Fprintf(e.out, "  %s read: ok\n", a)
	return nil
}

// writeAndRead writes e.items invoices split over the tenants, then reads
// each tenant's invoices back and checks them.
func (e *env) writeAndRead(ctx context.Context, invoices *table.Table[Invoice]) error {
	per := e.items / len(e.tenants)
	for _, t := range e.tenants {
		batch := make([]*Invoice, per)
		for i := range batch {
			batch[i] = newInvoice(t, i)
		}
		if err := invoices.For(t).BatchWrite(ctx, batch, nil); err != nil {
			return fmt.Errorf("write invoices of %s: %w", t, err)
		}
	}
	for _, t := range e.tenants {
		n := 0
		for inv, err := range invoices.For(t).Query(ctx, table.QueryInput{}) {
			if err != nil {
				return fmt.Errorf("read invoices of %s: %w", t, err)
			}
			if want := newInvoice(t, n); *inv != *want {
				return fmt.Errorf("invoice %s of %s read back differently", inv.ID, t)
			}
			n++
		}
		if n != per {
			return fmt.Errorf("read %d invoices of %s, want %d", n, t, per)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newInvoice(tenant string, i int) *Invoice {
	return &Invoice{
		Tenant:   tenant,
		ID:       invoiceID(i),
		Customer: fmt.Sprintf("customer %d of %s", i%7, tenant),
		Amount:   int64(1000 + 37*i),
		Currency: "EUR",
	}
}

func invoiceID(i int) string { return fmt.Sprintf("inv-%04d", i) }

// createTables creates the key store table and the invoices table, and
// schedules their deletion.
func (e *env) createTables(ctx context.Context, keysTable, invTable string) error {
	const wait = 2 * time.Minute
	if err := tenantkeys.CreateTable(ctx, e.ddb, keysTable, wait); err != nil {
		return fmt.Errorf("create key store table: %w", err)
	}
	e.cleanup = append(e.cleanup, e.dropTable(keysTable))
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(invTable),
		AttributeDefinitions: []dtypes.AttributeDefinition{
			{AttributeName: aws.String("tenant"), AttributeType: dtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("id"), AttributeType: dtypes.ScalarAttributeTypeS},
		},
		KeySchema: []dtypes.KeySchemaElement{
			{AttributeName: aws.String("tenant"), KeyType: dtypes.KeyTypeHash},
			{AttributeName: aws.String("id"), KeyType: dtypes.KeyTypeRange},
		},
		BillingMode: dtypes.BillingModePayPerRequest,
	}
	if _, err := e.ddb.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create invoices table: %w", err)
	}
	e.cleanup = append(e.cleanup, e.dropTable(invTable))
	if err := dynamodb.NewTableExistsWaiter(e.ddb).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(invTable)}, wait); err != nil {
		return fmt.Errorf("wait for invoices table: %w", err)
	}
	return nil
}

func (e *env) dropTable(name string) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := e.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			return fmt.Errorf("delete table %s: %w", name, err)
		}
		return nil
	}
}

// calls returns the KMS call counters: the local endpoint's own, or those
// counted client-side against real KMS.
func (e *env) calls() map[string]int {
	if e.local != nil {
		return e.local.AllCalls()
	}
	return e.rec.counts()
}

func (e *env) callSource() string {
	if e.local != nil {
		return "local KMS counters"
	}
	return "KMS calls (counted by this client)"
}

func countAll(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func aliasFor(pattern, tenant string) string {
	k, _ := tenantkeys.AliasPattern(pattern)(tenant, "")
	return k
}

// manualClock is a clock the example advances by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
