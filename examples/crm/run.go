package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// env is what the steps share.
type env struct {
	out    io.Writer
	db     *dynamodb.Client
	table  string
	repo   *CustomerRepository
	acme   CustomerScope // two companies (tenants) of the CRM
	globex CustomerScope
	store  *tenantkeys.Store // Admin; the repository gets only the cache
	cache  *tenantkeys.Cache
}

// joined is the date every customer of the example joined, plus a day
// per customer, so that QueryByStatus has an order to show.
var joined = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func run(ctx context.Context, out io.Writer, cfg config) (err error) {
	var cleanup []func(context.Context) error
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for i := len(cleanup) - 1; i >= 0; i-- {
			err = errors.Join(err, cleanup[i](cctx))
		}
	}()
	e, err := setup(ctx, out, cfg, &cleanup)
	if err != nil {
		return err
	}
	steps := []struct {
		title string
		fn    func(context.Context) error
	}{
		{"Two companies add customers; the same email may exist in both", e.addCustomers},
		{"Find a customer by email: the email is encrypted, its beacon is indexed", e.findByEmail},
		{"Unique email: GetByEmail, and a duplicate create is refused", e.uniqueEmail},
		{"Changing an email releases the old one in the same transaction", e.changeEmail},
		{"Compound beacon: customers by status and email with one index", e.findByStatusEmail},
		{"Declared index on signed attributes: active customers by date joined", e.queryByStatus},
		{"Rotating a company's data key: search and uniqueness keep working", e.rotate},
		{"Shredding a company: its customers cannot be searched any more", e.shred},
	}
	for i, s := range steps {
		step(out, i+1, s.title)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, s.title, err)
		}
	}
	fmt.Fprintf(out, "\nAll %d steps behaved as shown.\n", len(steps))
	return nil
}

func setup(ctx context.Context, out io.Writer, cfg config, cleanup *[]func(context.Context) error) (*env, error) {
	db, where, err := connect(ctx, cfg, cleanup)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "DynamoDB:", where)

	// A throwaway master key wraps the tenant keys; a real deployment
	// keeps one (tenantkeys.DefaultMasterKeyPath) or uses KMS.
	dir, err := os.MkdirTemp("", "dynaseal-crm-")
	if err != nil {
		return nil, err
	}
	*cleanup = append(*cleanup, func(context.Context) error { return os.RemoveAll(dir) })
	ring, err := tenantkeys.GenerateMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		return nil, err
	}

	suffix := fmt.Sprint(time.Now().UnixNano())
	dataTable, keyTable := CustomerTable+"-"+suffix, "crm-keys-"+suffix
	sch, err := schema.For[Customer]()
	if err != nil {
		return nil, err
	}
	// CreateTableInput also declares the schema's indexes: byEmail on the
	// email beacon, byStatusEmail on the compound, byStatus on status and
	// since.
	for _, in := range []*dynamodb.CreateTableInput{sch.CreateTableInput(dataTable), tenantkeys.CreateTableInput(keyTable)} {
		if _, err := db.CreateTable(ctx, in); err != nil {
			return nil, fmt.Errorf("create table %s: %w", aws.ToString(in.TableName), err)
		}
		name := aws.ToString(in.TableName)
		*cleanup = append(*cleanup, func(ctx context.Context) error {
			_, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			return err
		})
		if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 2*time.Minute); err != nil {
			return nil, fmt.Errorf("wait for table %s: %w", name, err)
		}
	}
	indexes := make([]string, 0, len(sch.Indexes))
	for _, ix := range sch.Indexes {
		indexes = append(indexes, ix.Name)
	}
	fmt.Fprintf(out, "Tables: %s (customers; indexes %s), %s (tenant keys)\n", dataTable, strings.Join(indexes, ", "), keyTable)

	// Each company's keys are created up front, so a request never creates
	// keys. Admin.Create of a data class also creates the class's beacon
	// key (class tenantkeys.BeaconClass("")), which beacons and unique
	// claims use and which is never rotated with the data key.
	store := tenantkeys.NewDynamoDBStore(db, keyTable, ring)
	for _, company := range []string{"acme", "globex"} {
		if _, err := store.Create(ctx, company, ""); err != nil {
			return nil, fmt.Errorf("create the keys of %s: %w", company, err)
		}
	}
	cache := tenantkeys.NewCache(store)
	repo, err := NewCustomerRepositoryNamed(db, dataTable, cache)
	if err != nil {
		return nil, err
	}
	return &env{out: out, db: db, table: dataTable, repo: repo, acme: repo.For("acme"), globex: repo.For("globex"), store: store, cache: cache}, nil
}

// connect returns a DynamoDB client: real AWS, a given DynamoDB Local, or
// one started here (closed by cleanup).
func connect(ctx context.Context, cfg config, cleanup *[]func(context.Context) error) (*dynamodb.Client, string, error) {
	switch cfg.endpoint {
	case "aws":
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("load AWS configuration: %w", err)
		}
		return dynamodb.NewFromConfig(awsCfg), "AWS region " + awsCfg.Region, nil
	case "":
		local, err := itest.StartDynamoDB(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("start DynamoDB Local: %w", err)
		}
		*cleanup = append(*cleanup, func(context.Context) error { return local.Close() })
		return localClient(local.Endpoint()), "DynamoDB Local at " + local.Endpoint(), nil
	}
	return localClient(cfg.endpoint), "DynamoDB Local at " + cfg.endpoint, nil
}

// localClient is the whole client configuration DynamoDB Local needs: its
// endpoint, any region, and static credentials. DynamoDB Local sends no
// CRC32 header on error answers, so response checksum validation is off
// (real DynamoDB sends it).
func localClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(endpoint),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		DisableValidateResponseChecksum: true,
	})
}

// customer makes the i-th customer of a company.
func customer(company, id, email, name, status string, day int) *Customer {
	return &Customer{Company: company, ID: id, Email: email, Name: name, Status: status, Since: joined.AddDate(0, 0, day)}
}

func (e *env) addCustomers(ctx context.Context) error {
	for _, c := range []*Customer{
		customer("acme", "c-ada", "ada@example.com", "Ada Lovelace", "active", 0),
		customer("acme", "c-grace", "grace@example.com", "Grace Hopper", "lead", 1),
		customer("acme", "c-linus", "linus@example.com", "Linus Torvalds", "active", 2),
		customer("acme", "c-barbara", "barbara@example.com", "Barbara Liskov", "active", 3),
		customer("globex", "g-ada", "ada@example.com", "Ada at Globex", "active", 0),
	} {
		sc := e.acme
		if c.Company == "globex" {
			sc = e.globex
		}
		if err := sc.Create(ctx, c); err != nil {
			return fmt.Errorf("create %s/%s: %w", c.Company, c.ID, err)
		}
		fmt.Fprintf(e.out, "   %-6s %-9s %-20s %s\n", c.Company, c.ID, c.Email, c.Status)
	}
	return nil
}

func (e *env) findByEmail(ctx context.Context) error {
	const query = "  Ada@Example.COM "
	var found []*Customer
	for c, err := range e.acme.FindByEmail(ctx, query) {
		if err != nil {
			return err
		}
		found = append(found, c)
	}
	if len(found) != 1 || found[0].ID != "c-ada" || found[0].Company != "acme" {
		return fmt.Errorf("acme FindByEmail(%q) = %d customers, want acme/c-ada only", query, len(found))
	}
	fmt.Fprintf(e.out, "   acme FindByEmail(%q): %s, %s (trimmed and lower-cased, as the tag says)\n", query, found[0].ID, found[0].Name)

	// What DynamoDB stores: ciphertext, and a beacon that starts with the
	// tenant, so the index query stays within the company.
	email, beacon, err := e.stored(ctx, "acme", "c-ada")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "   stored: email = %d bytes of ciphertext, email#b = %q + 0x1f + %q\n", len(email), "acme", beacon)
	_, globexBeacon, err := e.stored(ctx, "globex", "g-ada")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "   the same email at globex: email#b = %q + 0x1f + %q (another company's beacon key)\n", "globex", globexBeacon)

	other := 0
	for c, err := range e.globex.FindByEmail(ctx, "ada@example.com") {
		if err != nil {
			return err
		}
		if c.Company != "globex" {
			return fmt.Errorf("globex FindByEmail returned a customer of %s", c.Company)
		}
		other++
	}
	if other != 1 {
		return fmt.Errorf("globex FindByEmail = %d customers, want 1", other)
	}
	fmt.Fprintln(e.out, "   globex FindByEmail(\"ada@example.com\"): its own customer only; beacons of different companies are unrelated")
	return nil
}

// stored reads a customer's item as DynamoDB holds it and returns its
// encrypted email and the hex part of its beacon.
func (e *env) stored(ctx context.Context, company, id string) ([]byte, string, error) {
	raw, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: map[string]types.AttributeValue{
		"company": &types.AttributeValueMemberS{Value: company}, "id": &types.AttributeValueMemberS{Value: id},
	}})
	if err != nil {
		return nil, "", err
	}
	email, ok := raw.Item["email"].(*types.AttributeValueMemberB)
	beacon, ok2 := raw.Item["email#b"].(*types.AttributeValueMemberS)
	if !ok || !ok2 {
		return nil, "", fmt.Errorf("stored item %s/%s lacks an encrypted email or its beacon", company, id)
	}
	tenant, hex, _ := strings.Cut(beacon.Value, "\x1f")
	if tenant != company {
		return nil, "", fmt.Errorf("beacon of %s/%s starts with %q, not the company", company, id, tenant)
	}
	return email.Value, hex, nil
}

func (e *env) uniqueEmail(ctx context.Context) error {
	c, err := e.acme.GetByEmail(ctx, "grace@example.com")
	if err != nil {
		return err
	}
	if c.ID != "c-grace" {
		return fmt.Errorf("GetByEmail(grace@example.com) = %s", c.ID)
	}
	fmt.Fprintf(e.out, "   acme GetByEmail(\"grace@example.com\"): %s, %s\n", c.ID, c.Name)
	dup := customer("acme", "c-grace2", " GRACE@example.com", "Another Grace", "lead", 9)
	err = e.acme.Create(ctx, dup)
	if !errors.Is(err, table.ErrAlreadyExists) || !errors.Is(err, table.ErrUniqueTaken) {
		return fmt.Errorf("duplicate email created: %v", err)
	}
	fmt.Fprintf(e.out, "   acme Create(%q): refused: %v\n", dup.Email, err)
	if _, err := e.acme.Get(ctx, dup.ID); !errors.Is(err, table.ErrNotFound) {
		return fmt.Errorf("the refused customer was written: %v", err)
	}
	return nil
}

func (e *env) changeEmail(ctx context.Context) error {
	const oldEmail, newEmail = "grace@example.com", "grace.hopper@example.com"
	if _, err := e.acme.Update(ctx, "c-grace", func(c *Customer) error { c.Email = newEmail; return nil }); err != nil {
		return err
	}
	c, err := e.acme.GetByEmail(ctx, newEmail)
	if err != nil || c.ID != "c-grace" {
		return fmt.Errorf("GetByEmail(%s) after the change: %v", newEmail, err)
	}
	if _, err := e.acme.GetByEmail(ctx, oldEmail); !errors.Is(err, table.ErrNotFound) {
		return fmt.Errorf("GetByEmail(%s) after the change: %v, want ErrNotFound", oldEmail, err)
	}
	fmt.Fprintf(e.out, "   c-grace now %s; GetByEmail(%q): not found\n", newEmail, oldEmail)
	if err := e.acme.Create(ctx, customer("acme", "c-grace-b", oldEmail, "Grace Brewster", "lead", 4)); err != nil {
		return fmt.Errorf("create with the released email: %w", err)
	}
	fmt.Fprintf(e.out, "   a new customer takes %s: ok\n", oldEmail)
	return nil
}

func (e *env) findByStatusEmail(ctx context.Context) error {
	for _, q := range []struct {
		status, email string
		want          []string
	}{
		{"active", "linus@example.com", []string{"c-linus"}},
		{"lead", "linus@example.com", nil},
		{"lead", "GRACE@example.com", []string{"c-grace-b"}},
	} {
		var got []string
		for c, err := range e.acme.FindByStatusEmail(ctx, q.status, q.email) {
			if err != nil {
				return err
			}
			got = append(got, c.ID)
		}
		if !slices.Equal(got, q.want) {
			return fmt.Errorf("FindByStatusEmail(%s, %s) = %v, want %v", q.status, q.email, got, q.want)
		}
		fmt.Fprintf(e.out, "   acme FindByStatusEmail(%q, %q): %v\n", q.status, q.email, got)
	}
	return nil
}

func (e *env) queryByStatus(ctx context.Context) error {
	var got []string
	for c, err := range e.acme.QueryByStatus(ctx, "active", CustomerSinceGreaterOrEqual(joined.AddDate(0, 0, 1)), table.Descending()) {
		if err != nil {
			return err
		}
		got = append(got, c.ID+" ("+c.Since.Format(time.DateOnly)+")")
	}
	want := []string{"c-barbara (2026-01-08)", "c-linus (2026-01-07)"}
	if !slices.Equal(got, want) {
		return fmt.Errorf("QueryByStatus(active, since >= 2026-01-06, descending) = %v, want %v", got, want)
	}
	fmt.Fprintf(e.out, "   acme QueryByStatus(\"active\", since >= 2026-01-06, descending): %s\n", strings.Join(got, ", "))
	n, err := e.acme.CountByStatus(ctx, "active", table.SortCondition{})
	if err != nil || n != 3 {
		return fmt.Errorf("CountByStatus(active) = %d, %v; want 3", n, err)
	}
	fmt.Fprintf(e.out, "   acme CountByStatus(\"active\"): %d\n", n)
	return nil
}

// findOne returns the IDs FindByEmail yields in sc.
func findOne(ctx context.Context, sc CustomerScope, email string) ([]string, error) {
	var ids []string
	for c, err := range sc.FindByEmail(ctx, email) {
		if err != nil {
			return nil, err
		}
		ids = append(ids, c.ID)
	}
	return ids, nil
}

func (e *env) rotate(ctx context.Context) error {
	info, err := e.store.Rotate(ctx, "acme", "")
	if err != nil {
		return err
	}
	e.cache.Purge("acme") // this process's cache; others see the new version when their entries expire
	fmt.Fprintf(e.out, "   acme's data key is now version %d; its beacon key is not rotated, so no beacon changes\n", info.Ref.Version)
	if err := e.acme.Create(ctx, customer("acme", "c-edsger", "edsger@example.com", "Edsger Dijkstra", "lead", 5)); err != nil {
		return err
	}
	for _, q := range []struct{ email, id string }{{"ada@example.com", "c-ada"}, {"edsger@example.com", "c-edsger"}} {
		ids, err := findOne(ctx, e.acme, q.email)
		if err != nil {
			return err
		}
		if !slices.Equal(ids, []string{q.id}) {
			return fmt.Errorf("FindByEmail(%s) after the rotation = %v, want %s", q.email, ids, q.id)
		}
	}
	fmt.Fprintln(e.out, "   FindByEmail finds c-ada (sealed before the rotation) and c-edsger (after it)")
	err = e.acme.Create(ctx, customer("acme", "c-ada2", "ada@example.com", "Ada again", "lead", 6))
	if !errors.Is(err, table.ErrUniqueTaken) {
		return fmt.Errorf("duplicate email after the rotation: %v, want ErrUniqueTaken", err)
	}
	fmt.Fprintln(e.out, "   a second ada@example.com is still refused")
	return nil
}

func (e *env) shred(ctx context.Context) error {
	if err := e.store.Shred(ctx, "globex"); err != nil {
		return err
	}
	e.cache.Purge("globex")
	_, err := findOne(ctx, e.globex, "ada@example.com")
	if !errors.Is(err, tenantkeys.ErrKeyShredded) {
		return fmt.Errorf("FindByEmail in a shredded company: %v, want ErrKeyShredded", err)
	}
	fmt.Fprintln(e.out, "   globex FindByEmail(\"ada@example.com\"): refused (ErrKeyShredded): the beacon key died with the data keys")
	ids, err := findOne(ctx, e.acme, "ada@example.com")
	if err != nil || !slices.Equal(ids, []string{"c-ada"}) {
		return fmt.Errorf("acme FindByEmail after globex's shred = %v, %v", ids, err)
	}
	fmt.Fprintln(e.out, "   acme FindByEmail(\"ada@example.com\"): c-ada, untouched")
	return nil
}
