// Command classes shows dynaseal's key classes with a retail example: a
// shop's public product catalog is sealed with the tenant's default key
// class, its customers' payment methods with a separate "payments" class
// (table.WithKeyClass). The two keys of one tenant are unrelated, so a role
// that may use only the default class reads the catalog but cannot open a
// single payment method.
//
// Keys come from a DynamoDB key store table, wrapped by a local master
// keyring: $DYNASEAL_MASTER_KEY when set, otherwise a throwaway key file in a
// temporary directory. DynamoDB Local starts by itself (or $DYNAMODB_ENDPOINT
// is used):
//
//	go run ./examples/classes
//
// The catalog role here is limited by a Provider wrapper in this process.
// With KMS, enforce the same rule where it cannot be bypassed: a key policy
// or IAM condition on kms:EncryptionContext:class (see package tenantkeys).
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// Product is a catalog entry: public data, signed but not encrypted.
type Product struct {
	Tenant string `dynamodbav:"tenant" seal:"pk,tenant"`
	SKU    string `dynamodbav:"sku"    seal:"sk"`
	Name   string `dynamodbav:"name"`
	Price  int64  `dynamodbav:"price"` // cents
}

// PaymentMethod is a customer's stored card: encrypted with the tenant's
// "payments" key.
type PaymentMethod struct {
	Tenant   string `dynamodbav:"tenant"   seal:"pk,tenant"`
	ID       string `dynamodbav:"id"       seal:"sk"`
	Customer string `dynamodbav:"customer" seal:"encrypt"`
	PAN      string `dynamodbav:"pan"      seal:"encrypt"`
	Expiry   string `dynamodbav:"exp"      seal:"encrypt"`
	Last4    string `dynamodbav:"last4"` // signed plaintext, for receipts
}

// paymentsClass is the key class of the payments table.
const paymentsClass = "payments"

type config struct {
	// endpoint selects DynamoDB: "" starts DynamoDB Local (or uses
	// $DYNAMODB_ENDPOINT), "aws" is real DynamoDB (default credential
	// chain), anything else is the URL of a running DynamoDB Local.
	endpoint string
	// region is the AWS region with -endpoint aws.
	region string
	// tenant is the shop.
	tenant string
	// masterKeyEnv names an environment variable holding the master
	// keyring; "" generates a throwaway key file.
	masterKeyEnv string
}

func main() {
	cfg := config{}
	flag.StringVar(&cfg.endpoint, "endpoint", "", `DynamoDB: "" starts DynamoDB Local, "aws" uses real DynamoDB, or a DynamoDB Local URL`)
	flag.StringVar(&cfg.region, "region", "", "AWS region with -endpoint aws (default: from the AWS config)")
	flag.StringVar(&cfg.tenant, "tenant", "corner-shop", "tenant id of the shop")
	flag.Parse()
	if os.Getenv(tenantkeys.DefaultMasterKeyEnv) != "" {
		cfg.masterKeyEnv = tenantkeys.DefaultMasterKeyEnv
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "classes:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, cfg config) (err error) {
	if cfg.tenant == "" {
		cfg.tenant = "corner-shop"
	}
	shop := cfg.tenant
	var cleanup []func(context.Context) error
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for i := len(cleanup) - 1; i >= 0; i-- {
			err = errors.Join(err, cleanup[i](cctx))
		}
	}()

	// Master keyring: never a constant in code.
	var ring *tenantkeys.Keyring
	var ringDesc string
	if cfg.masterKeyEnv != "" {
		if ring, err = tenantkeys.KeyringFromEnv(cfg.masterKeyEnv); err != nil {
			return fmt.Errorf("master keyring: %w", err)
		}
		ringDesc = "$" + cfg.masterKeyEnv
	} else {
		dir, err := os.MkdirTemp("", "dynaseal-classes-")
		if err != nil {
			return fmt.Errorf("temp dir: %w", err)
		}
		cleanup = append(cleanup, func(context.Context) error { return os.RemoveAll(dir) })
		if ring, err = tenantkeys.GenerateMasterKeyFile(filepath.Join(dir, "master.key")); err != nil {
			return fmt.Errorf("master keyring: %w", err)
		}
		ringDesc = "a throwaway key file"
	}
	// DynamoDB.
	var ddb *dynamodb.Client
	var ddbDesc string
	switch cfg.endpoint {
	case "":
		d, err := itest.StartDynamoDB(ctx)
		if err != nil {
			return fmt.Errorf("start DynamoDB Local: %w", err)
		}
		cleanup = append(cleanup, func(context.Context) error { return d.Close() })
		ddb = itest.NewDynamoDBClient(d.Endpoint())
		ddbDesc = fmt.Sprintf("DynamoDB Local (%s) at %s", d.Source(), d.Endpoint())
	case "aws":
		var opts []func(*awsconfig.LoadOptions) error
		if cfg.region != "" {
			opts = append(opts, awsconfig.WithRegion(cfg.region))
		}
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return fmt.Errorf("load AWS config: %w", err)
		}
		ddb = dynamodb.NewFromConfig(awsCfg)
		ddbDesc = "DynamoDB in " + awsCfg.Region
	default:
		ddb = itest.NewDynamoDBClient(cfg.endpoint)
		ddbDesc = "DynamoDB Local at " + cfg.endpoint
	}

	fmt.Fprintf(out, "dynaseal key classes example: %s; master key %q from %s\n", ddbDesc, ring.Newest(), ringDesc)

	// Tables: the key store, the catalog and the payment methods.
	suffix := fmt.Sprint(time.Now().UnixNano())
	keysTable := "dynaseal-example-keys-" + suffix
	catalogTable := "dynaseal-example-catalog-" + suffix
	paymentsTable := "dynaseal-example-payments-" + suffix
	const wait = 2 * time.Minute
	if err := tenantkeys.CreateTable(ctx, ddb, keysTable, wait); err != nil {
		return fmt.Errorf("create key store table: %w", err)
	}
	cleanup = append(cleanup, dropTable(ddb, keysTable))
	for _, t := range []struct{ name, sk string }{{catalogTable, "sku"}, {paymentsTable, "id"}} {
		if err := createTable(ctx, ddb, t.name, t.sk, wait); err != nil {
			return err
		}
		cleanup = append(cleanup, dropTable(ddb, t.name))
	}

	// Key administration: one key per (tenant, class).
	store := tenantkeys.NewDynamoDBStore(ddb, keysTable, ring)
	var admin tenantkeys.Admin = store
	var created [2]tenantkeys.VersionInfo
	for i, class := range []string{"", paymentsClass} {
		if created[i], err = admin.Create(ctx, shop, class); err != nil {
			return fmt.Errorf("create key %s/%s: %w", shop, label(class), err)
		}
	}
	wrappers := "both wrapped under " + created[0].Wrapped.KeyID
	if created[0].Wrapped.KeyID != created[1].Wrapped.KeyID {
		wrappers = "wrapped under " + created[0].Wrapped.KeyID + " and " + created[1].Wrapped.KeyID
	}
	fmt.Fprintf(out, "admin: created keys %s and %s, %s\n", refString(created[0].Ref), refString(created[1].Ref), wrappers)
	if err := showSeparation(ctx, out, store, ring, created[1]); err != nil {
		return err
	}

	// The checkout role may use every class of its tenant. keyLog records
	// which key each call used, for the output.
	keys := &keyLog{next: tenantkeys.NewCache(store)}
	catalog, err := table.New[Product](ddb, catalogTable, keys)
	if err != nil {
		return fmt.Errorf("catalog table: %w", err)
	}
	payments, err := table.New[PaymentMethod](ddb, paymentsTable, keys, table.WithKeyClass(paymentsClass))
	if err != nil {
		return fmt.Errorf("payments table: %w", err)
	}
	product := &Product{Tenant: shop, SKU: "sku-001", Name: "Espresso beans 1kg", Price: 1850}
	card := &PaymentMethod{Tenant: shop, ID: "pm-001", Customer: "Jane Doe", PAN: "4242424242424242", Expiry: "12/29", Last4: "4242"}
	fmt.Fprintln(out, "checkout role (all classes):")
	if err := catalog.For(shop).Put(ctx, product); err != nil {
		return fmt.Errorf("put product: %w", err)
	}
	fmt.Fprintf(out, "  put product %s %q: ok [%s]\n", product.SKU, product.Name, keys.took())
	if err := payments.For(shop).Put(ctx, card); err != nil {
		return fmt.Errorf("put payment method: %w", err)
	}
	fmt.Fprintf(out, "  put payment method %s, card ending %s: ok [%s]\n", card.ID, card.Last4, keys.took())

	// The catalog role gets a Provider that refuses the payments class.
	fmt.Fprintln(out, "catalog role (default class only):")
	catalogKeys := &keyLog{next: classFilter{next: tenantkeys.NewCache(store), role: "catalog", allowed: map[string]bool{"": true}}}
	roCatalog, err := table.New[Product](ddb, catalogTable, catalogKeys)
	if err != nil {
		return fmt.Errorf("catalog table: %w", err)
	}
	roPayments, err := table.New[PaymentMethod](ddb, paymentsTable, catalogKeys, table.WithKeyClass(paymentsClass))
	if err != nil {
		return fmt.Errorf("payments table: %w", err)
	}
	p, err := roCatalog.For(shop).Get(ctx, table.SortKey(table.S(product.SKU)))
	if err != nil {
		return fmt.Errorf("catalog role reading the catalog: %w", err)
	}
	if *p != *product {
		return errors.New("catalog role read a different product than was written")
	}
	fmt.Fprintf(out, "  get product %s: ok, %q at %d.%02d [%s]\n", p.SKU, p.Name, p.Price/100, p.Price%100, catalogKeys.took())

	_, err = roPayments.For(shop).Get(ctx, table.SortKey(table.S(card.ID)))
	if !errors.Is(err, tenantkeys.ErrAccessDenied) {
		return fmt.Errorf("catalog role reading a payment method: want ErrAccessDenied, got %v", err)
	}
	fmt.Fprintf(out, "  get payment method %s: refused: %v\n", card.ID, err)
	err = roPayments.For(shop).Put(ctx, &PaymentMethod{Tenant: shop, ID: "pm-002", Last4: "0000"})
	if !errors.Is(err, tenantkeys.ErrAccessDenied) {
		return fmt.Errorf("catalog role writing a payment method: want ErrAccessDenied, got %v", err)
	}
	fmt.Fprintln(out, "  put payment method pm-002: refused (ErrAccessDenied)")

	// The checkout role still reads the card.
	got, err := payments.For(shop).Get(ctx, table.SortKey(table.S(card.ID)))
	if err != nil {
		return fmt.Errorf("checkout role reading a payment method: %w", err)
	}
	if *got != *card {
		return errors.New("checkout role read a different payment method than was written")
	}
	fmt.Fprintf(out, "checkout role: get payment method %s: ok, card ending %s [%s]\n", got.ID, got.Last4, keys.took())
	return nil
}

// showSeparation shows that the default and payments keys of one tenant are
// different keys, and that the payments key's wrapped form does not unwrap
// as the default class. Key bytes are compared in memory, never printed.
func showSeparation(ctx context.Context, out io.Writer, p tenantkeys.Provider, ring *tenantkeys.Keyring, payments tenantkeys.VersionInfo) error {
	tenant := payments.Ref.Tenant
	def, err := p.CurrentKey(ctx, tenant, "")
	if err != nil {
		return fmt.Errorf("default key: %w", err)
	}
	defer def.Zero()
	pay, err := p.CurrentKey(ctx, tenant, paymentsClass)
	if err != nil {
		return fmt.Errorf("payments key: %w", err)
	}
	defer pay.Zero()
	if def.Ref == pay.Ref || subtle.ConstantTimeCompare(def.Material[:], pay.Material[:]) == 1 {
		return errors.New("default and payments keys are the same")
	}
	fmt.Fprintln(out, "  the two keys differ (compared in memory, never printed)")

	asDefault := attrcrypt.KeyRef{Tenant: tenant, Version: payments.Ref.Version}
	k, err := ring.Unwrap(ctx, asDefault, payments.Wrapped)
	k.Zero()
	if !errors.Is(err, tenantkeys.ErrKeyCorrupt) {
		return fmt.Errorf("payments key unwrapped as the default class: want ErrKeyCorrupt, got %v", err)
	}
	fmt.Fprintf(out, "  wrapped %s presented as %s: refused (ErrKeyCorrupt)\n", refString(payments.Ref), refString(asDefault))
	return nil
}

// classFilter is the Provider of a role that may use only some key classes
// of its tenants. Other classes fail with tenantkeys.ErrAccessDenied before
// the key store is asked.
type classFilter struct {
	next    tenantkeys.Provider
	role    string
	allowed map[string]bool
}

func (f classFilter) check(class string) error {
	if f.allowed[class] {
		return nil
	}
	return fmt.Errorf("%w: role %q may not use key class %q", tenantkeys.ErrAccessDenied, f.role, label(class))
}

// CurrentKey implements tenantkeys.Provider.
func (f classFilter) CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error) {
	if err := f.check(class); err != nil {
		return attrcrypt.Key{}, err
	}
	return f.next.CurrentKey(ctx, tenant, class)
}

// Key implements tenantkeys.Provider.
func (f classFilter) Key(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, error) {
	if err := f.check(ref.Class); err != nil {
		return attrcrypt.Key{}, err
	}
	return f.next.Key(ctx, ref)
}

// keyLog is a Provider that remembers which keys it handed out.
type keyLog struct {
	next tenantkeys.Provider
	mu   sync.Mutex
	refs []string
}

func (l *keyLog) note(k attrcrypt.Key, err error) (attrcrypt.Key, error) {
	if err == nil {
		l.mu.Lock()
		l.refs = append(l.refs, "key "+refString(k.Ref))
		l.mu.Unlock()
	}
	return k, err
}

// CurrentKey implements tenantkeys.Provider.
func (l *keyLog) CurrentKey(ctx context.Context, tenant, class string) (attrcrypt.Key, error) {
	return l.note(l.next.CurrentKey(ctx, tenant, class))
}

// Key implements tenantkeys.Provider.
func (l *keyLog) Key(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, error) {
	return l.note(l.next.Key(ctx, ref))
}

// took returns and forgets the keys handed out since the last call.
func (l *keyLog) took() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(slices.Compact(l.refs), ", ")
	l.refs = l.refs[:0]
	return s
}

// refString formats a key reference as tenant/class/vN.
func refString(r attrcrypt.KeyRef) string {
	return fmt.Sprintf("%s/%s/v%d", r.Tenant, label(r.Class), r.Version)
}

func label(class string) string {
	if class == "" {
		return tenantkeys.DefaultClassLabel
	}
	return class
}

// createTable creates a table with partition key "tenant" and sort key sk
// (both S), on demand, and waits until it is active.
func createTable(ctx context.Context, ddb *dynamodb.Client, name, sk string, wait time.Duration) error {
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []dtypes.AttributeDefinition{
			{AttributeName: aws.String("tenant"), AttributeType: dtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String(sk), AttributeType: dtypes.ScalarAttributeTypeS},
		},
		KeySchema: []dtypes.KeySchemaElement{
			{AttributeName: aws.String("tenant"), KeyType: dtypes.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: dtypes.KeyTypeRange},
		},
		BillingMode: dtypes.BillingModePayPerRequest,
	}
	if _, err := ddb.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	if err := dynamodb.NewTableExistsWaiter(ddb).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, wait); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	return nil
}

func dropTable(ddb *dynamodb.Client, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			return fmt.Errorf("delete table %s: %w", name, err)
		}
		return nil
	}
}
