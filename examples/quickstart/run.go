package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/examples/patients"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// env is what the six steps share.
type env struct {
	out      io.Writer
	db       *dynamodb.Client
	table    string
	store    *tenantkeys.Store // Admin and Provider; an application gets only the Provider
	cache    *tenantkeys.Cache
	repo     *patients.PatientRepository
	sealer   *attrcrypt.Sealer // only to show which key version a stored item names
	clinicA  string
	clinicB  string
	recordsA []*patients.Patient
	recordsB []*patients.Patient
}

func run(ctx context.Context, out io.Writer, cfg config) error {
	e, cleanup, err := setup(ctx, out, cfg)
	if err != nil {
		return err
	}
	defer cleanup()
	for i, s := range []struct {
		title string
		fn    func(context.Context) error
	}{
		{"Two clinics write patients through the generated repository", e.writePatients},
		{"One item as DynamoDB stores it, and as the application reads it", e.showStoredItem},
		{"A row copied into the other clinic's partition fails verification", e.copyAcrossTenants},
		{"A request scoped to clinic A cannot read clinic B's record", e.crossTenantRequest},
		{"Rotating clinic A's key: new writes use the new version, old records still read", e.rotate},
		{"Shredding clinic B: its records are unreadable, clinic A is untouched", e.shred},
	} {
		step(out, i+1, s.title)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, s.title, err)
		}
	}
	fmt.Fprintln(out, "\nAll six steps behaved as shown.")
	return nil
}

func setup(ctx context.Context, out io.Writer, cfg config) (*env, func(), error) {
	cleanup := func() {}
	db, where, stop, err := connect(ctx, cfg)
	if err != nil {
		return nil, cleanup, err
	}
	cleanup = stop
	fmt.Fprintln(out, "DynamoDB:", where)

	wrapper, keyDesc, err := wrapper(ctx, cfg)
	if err != nil {
		return nil, cleanup, err
	}
	fmt.Fprintln(out, "Tenant keys wrapped by:", keyDesc)

	sch, err := schema.For[patients.Patient]()
	if err != nil {
		return nil, cleanup, err
	}
	if err := ensureTable(ctx, db, sch.CreateTableInput(cfg.Table)); err != nil {
		return nil, cleanup, err
	}
	if err := ensureTable(ctx, db, tenantkeys.CreateTableInput(cfg.KeyTable)); err != nil {
		return nil, cleanup, err
	}
	fmt.Fprintf(out, "Tables: %s (data), %s (tenant key store)\n", cfg.Table, cfg.KeyTable)

	store := tenantkeys.NewDynamoDBStore(db, cfg.KeyTable, wrapper, tenantkeys.WithCreateOnFirstUse(true))
	cache := tenantkeys.NewCache(store, tenantkeys.WithTTL(5*time.Minute))
	repo, err := patients.NewPatientRepositoryNamed(db, cfg.Table, cache)
	if err != nil {
		return nil, cleanup, err
	}
	sealer, err := attrcrypt.NewSealer(attrcrypt.Config{Table: cfg.Table, TenantAttribute: sch.Tenant, Actions: sch.Actions()})
	if err != nil {
		return nil, cleanup, err
	}
	// A fresh suffix per run keeps reruns against a persistent table apart
	// (clinic B is shredded at the end of every run).
	run := make([]byte, 2)
	if _, err := rand.Read(run); err != nil {
		return nil, cleanup, err
	}
	suffix := hex.EncodeToString(run)
	return &env{
		out: out, db: db, table: cfg.Table, store: store, cache: cache, repo: repo, sealer: sealer,
		clinicA: "clinic-a-" + suffix, clinicB: "clinic-b-" + suffix,
	}, cleanup, nil
}

// connect returns a DynamoDB client: real AWS, a given endpoint, or a
// DynamoDB Local started here.
func connect(ctx context.Context, cfg config) (*dynamodb.Client, string, func(), error) {
	noop := func() {}
	switch {
	case cfg.Endpoint == "aws":
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, "", noop, fmt.Errorf("load AWS configuration: %w", err)
		}
		return dynamodb.NewFromConfig(awsCfg), "AWS region " + awsCfg.Region, noop, nil
	case cfg.Endpoint != "":
		return localClient(cfg.Endpoint), cfg.Endpoint, noop, nil
	}
	start := time.Now()
	local, err := itest.StartDynamoDB(ctx)
	if err != nil {
		return nil, "", noop, err
	}
	desc := fmt.Sprintf("DynamoDB Local at %s (%s, ready in %.1fs)", local.Endpoint(), local.Source(), time.Since(start).Seconds())
	return localClient(local.Endpoint()), desc, func() { _ = local.Close() }, nil
}

// localClient is the whole client configuration DynamoDB Local needs: its
// endpoint, any region, and static credentials (DynamoDB Local accepts only
// letters and digits in the key id). DynamoDB Local sends no CRC32 header on
// error answers, so the SDK would log "failed to close HTTP response body" for
// every failed condition; its validation is turned off for DynamoDB Local only
// (real DynamoDB sends the header). itest only starts the server.
func localClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:                          "us-east-1",
		BaseEndpoint:                    aws.String(endpoint),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		DisableValidateResponseChecksum: true,
	})
}

// wrapper returns what wraps tenant keys: KMS when asked, else the local
// development master key, created on first use in the user's config dir.
func wrapper(ctx context.Context, cfg config) (tenantkeys.Wrapper, string, error) {
	if cfg.KMSKey != "" {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("load AWS configuration: %w", err)
		}
		return tenantkeys.NewKMSWrapper(kms.NewFromConfig(awsCfg), tenantkeys.SharedKey(cfg.KMSKey)), "KMS key " + cfg.KMSKey, nil
	}
	path := cfg.MasterKeyFile
	if path == "" {
		p, err := tenantkeys.DefaultMasterKeyPath()
		if err != nil {
			return nil, "", err
		}
		path = p
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		ring, err := tenantkeys.GenerateMasterKeyFile(path)
		if err != nil {
			return nil, "", err
		}
		return ring, "local master key " + path + " (created now; keep it, or every tenant key it wraps is lost)", nil
	}
	ring, err := tenantkeys.LoadKeyringFile(path)
	if err != nil {
		return nil, "", err
	}
	return ring, "local master key " + path, nil
}

// ensureTable creates a table unless it exists, and waits until it is active.
func ensureTable(ctx context.Context, db *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	_, err := db.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", aws.ToString(in.TableName), err)
	}
	return dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 2*time.Minute)
}

func newPatient(clinic, name, ssn, plan string) *patients.Patient {
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	return &patients.Patient{
		TenantID: clinic, ID: "p-" + hex.EncodeToString(id), Name: name, SSN: ssn, Plan: plan,
		Seen: time.Now().UTC().Truncate(time.Second),
	}
}

func (e *env) writePatients(ctx context.Context) error {
	e.recordsA = []*patients.Patient{
		newPatient(e.clinicA, "Ada Lovelace", "123-45-6789", "gold"),
		newPatient(e.clinicA, "Alan Turing", "987-65-4321", "silver"),
	}
	e.recordsB = []*patients.Patient{
		newPatient(e.clinicB, "Grace Hopper", "555-12-3456", "gold"),
	}
	for _, batch := range []struct {
		clinic string
		ps     []*patients.Patient
	}{{e.clinicA, e.recordsA}, {e.clinicB, e.recordsB}} {
		scope := e.repo.For(batch.clinic) // the tenant comes from the request, not the item
		for _, p := range batch.ps {
			if err := scope.Create(ctx, p); err != nil {
				return err
			}
			fmt.Fprintf(e.out, "   %s wrote %s (%s)\n", batch.clinic, p.ID, p.Name)
		}
	}
	return nil
}

func (e *env) rawItem(ctx context.Context, clinic, id string) (map[string]types.AttributeValue, error) {
	out, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &e.table,
		Key:       map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: clinic}, "id": &types.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, fmt.Errorf("raw item %s/%s not found", clinic, id)
	}
	return out.Item, nil
}

func (e *env) showStoredItem(ctx context.Context) error {
	p := e.recordsA[0]
	raw, err := e.rawItem(ctx, p.TenantID, p.ID)
	if err != nil {
		return err
	}
	got, err := e.repo.For(e.clinicA).Get(ctx, p.ID)
	if err != nil {
		return err
	}
	if got.Name != p.Name || got.SSN != p.SSN {
		return errors.New("the application did not read back what it wrote")
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(e.out, "   %-10s %-48s %s\n", "attribute", "stored in DynamoDB", "read by the application")
	app := map[string]string{"tenant": got.TenantID, "id": got.ID, "name": got.Name, "ssn": got.SSN, "plan": got.Plan,
		"seen": got.Seen.Format(time.RFC3339), "v": fmt.Sprint(got.Version)}
	for _, n := range names {
		a, ok := app[n]
		if !ok {
			a = "(dynaseal: header/signature)"
		}
		fmt.Fprintf(e.out, "   %-10s %-48s %s\n", n, show(raw[n]), a)
	}
	if s, ok := raw["ssn"].(*types.AttributeValueMemberB); !ok || strings.Contains(string(s.Value), p.SSN) {
		return errors.New("ssn is not stored encrypted")
	}
	return nil
}

// show renders a stored attribute value in one short column.
func show(av types.AttributeValue) string {
	var s string
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		s = "S " + v.Value
	case *types.AttributeValueMemberN:
		s = "N " + v.Value
	case *types.AttributeValueMemberB:
		s = fmt.Sprintf("B %d bytes %s", len(v.Value), base64.StdEncoding.EncodeToString(v.Value))
	default:
		s = fmt.Sprintf("%T", av)
	}
	if len(s) > 46 {
		s = s[:43] + "..."
	}
	return s
}

func (e *env) copyAcrossTenants(ctx context.Context) error {
	victim := e.recordsA[1]
	raw, err := e.rawItem(ctx, victim.TenantID, victim.ID)
	if err != nil {
		return err
	}
	// Someone with write access to the table copies A's row into B's
	// partition with the raw SDK.
	raw["tenant"] = &types.AttributeValueMemberS{Value: e.clinicB}
	if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &e.table, Item: raw}); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "   copied %s/%s to %s/%s with the raw SDK\n", e.clinicA, victim.ID, e.clinicB, victim.ID)
	_, err = e.repo.For(e.clinicB).Get(ctx, victim.ID)
	if !errors.Is(err, table.ErrTampered) {
		return fmt.Errorf("reading the copied row: got %v, want table.ErrTampered", err)
	}
	fmt.Fprintf(e.out, "   clinic B reads it: %v\n", err)
	return nil
}

func (e *env) crossTenantRequest(ctx context.Context) error {
	target := e.recordsB[0]
	scopeA := e.repo.For(e.clinicA)
	// The typed repository only takes the sort key: the partition is always
	// the scope's own tenant, so B's record id finds nothing in A's partition.
	if _, err := scopeA.Get(ctx, target.ID); !errors.Is(err, table.ErrNotFound) {
		return fmt.Errorf("clinic A asking for B's id: got %v, want table.ErrNotFound", err)
	}
	fmt.Fprintf(e.out, "   clinic A asks for %s: not found (it only ever looks in its own partition)\n", target.ID)
	// Naming B's partition explicitly through the table API is refused
	// before any key of clinic B is fetched.
	_, err := scopeA.Scope().Get(ctx, table.Key{PK: table.S(e.clinicB), SK: table.S(target.ID)})
	if !errors.Is(err, table.ErrWrongTenant) {
		return fmt.Errorf("clinic A naming B's partition: got %v, want table.ErrWrongTenant", err)
	}
	fmt.Fprintf(e.out, "   clinic A names B's partition explicitly: %v\n", err)
	return nil
}

func (e *env) keyVersion(ctx context.Context, clinic, id string) (uint32, error) {
	raw, err := e.rawItem(ctx, clinic, id)
	if err != nil {
		return 0, err
	}
	ref, err := e.sealer.KeyRef(raw)
	if err != nil {
		return 0, err
	}
	return ref.Version, nil
}

func (e *env) rotate(ctx context.Context) error {
	old := e.recordsA[0]
	info, err := e.store.Rotate(ctx, e.clinicA, "")
	if err != nil {
		return err
	}
	// Other processes see the new version when their cache entry expires
	// (the TTL); this one is told at once.
	e.cache.Purge(e.clinicA)
	fmt.Fprintf(e.out, "   rotated %s to key version %d\n", e.clinicA, info.Ref.Version)
	fresh := newPatient(e.clinicA, "Katherine Johnson", "222-33-4444", "gold")
	scope := e.repo.For(e.clinicA)
	if err := scope.Create(ctx, fresh); err != nil {
		return err
	}
	for _, p := range []*patients.Patient{old, fresh} {
		got, err := scope.Get(ctx, p.ID)
		if err != nil {
			return err
		}
		v, err := e.keyVersion(ctx, p.TenantID, p.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.out, "   %s (%s) sealed with key version %d: read ok\n", p.ID, got.Name, v)
	}
	if v, _ := e.keyVersion(ctx, fresh.TenantID, fresh.ID); v != info.Ref.Version {
		return fmt.Errorf("new record sealed with version %d, want %d", v, info.Ref.Version)
	}
	return nil
}

func (e *env) shred(ctx context.Context) error {
	if err := e.store.Shred(ctx, e.clinicB); err != nil {
		return err
	}
	e.cache.Purge(e.clinicB) // other processes: within one TTL
	fmt.Fprintf(e.out, "   shredded every key of %s\n", e.clinicB)
	target := e.recordsB[0]
	_, err := e.repo.For(e.clinicB).Get(ctx, target.ID)
	if !errors.Is(err, table.ErrKeyShredded) {
		return fmt.Errorf("reading a shredded clinic's record: got %v, want table.ErrKeyShredded", err)
	}
	fmt.Fprintf(e.out, "   clinic B reads %s: %v\n", target.ID, err)
	n := 0
	for p, err := range e.repo.For(e.clinicA).Query(ctx, table.SortCondition{}) {
		if err != nil {
			return fmt.Errorf("clinic A after B's shred: %w", err)
		}
		_ = p
		n++
	}
	if n != 3 {
		return fmt.Errorf("clinic A has %d readable records, want 3", n)
	}
	fmt.Fprintf(e.out, "   clinic A still reads all %d of its records\n", n)
	return nil
}
