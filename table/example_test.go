package table_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// The examples below need a DynamoDB endpoint and a master key, so they are
// compiled but not run; the integration tests run the same calls against
// DynamoDB Local.

// keyProvider returns a cached tenant key store whose keys are wrapped by
// the local master key in $DYNASEAL_MASTER_KEY (use KMS in production).
func keyProvider() tenantkeys.Provider {
	kr, err := tenantkeys.KeyringFromEnv("")
	if err != nil {
		log.Fatal(err)
	}
	return tenantkeys.NewCache(tenantkeys.NewMemoryStore(kr, tenantkeys.WithCreateOnFirstUse(true)))
}

func dynamoClient() *dynamodb.Client {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg)
}

func patientsTable() *table.Table[Patient] {
	t, err := table.New[Patient](dynamoClient(), "patients", keyProvider())
	if err != nil {
		log.Fatal(err)
	}
	return t
}

func ExampleNew() {
	// Patient's struct tags say what is encrypted (seal:"encrypt"), what
	// is the tenant (seal:"tenant") and the version (seal:"version").
	patients, err := table.New[Patient](dynamoClient(), "patients", keyProvider(),
		table.WithKeyClass("phi"),         // a separate key per tenant for this data class
		table.WithLogicalName("patients"), // keeps reading after a restore into a new table
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = patients.For("tenant-0042")
}

func ExampleScope_Create() {
	ctx := context.Background()
	s := patientsTable().For("tenant-0042")
	p := &Patient{Tenant: "tenant-0042", ID: "p-1", Name: "Ada Lovelace", SSN: "123-45-6789", Plan: "gold"}
	switch err := s.Create(ctx, p); {
	case errors.Is(err, table.ErrAlreadyExists):
		fmt.Println("already there")
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(p.Version) // 1
}

func ExampleScope_Get() {
	ctx := context.Background()
	s := patientsTable().For("tenant-0042")
	p, err := s.Get(ctx, table.SortKey(table.S("p-1")), table.ConsistentRead())
	switch {
	case errors.Is(err, table.ErrNotFound):
		fmt.Println("no such patient")
	case errors.Is(err, table.ErrTampered):
		log.Print("item failed verification") // alert: someone edited the table
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(p.Name)
	}
}

func ExampleScope_Update() {
	ctx := context.Background()
	s := patientsTable().For("tenant-0042")
	// Read-modify-write of the whole item; retried when another writer
	// got in between.
	p, err := s.Update(ctx, table.SortKey(table.S("p-1")), func(p *Patient) error {
		p.Count++
		return nil
	}, table.RetryConflicts(10))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Count, p.Version)
}

func ExampleScope_Query() {
	ctx := context.Background()
	s := patientsTable().For("tenant-0042")
	for p, err := range s.Query(ctx, table.QueryInput{Sort: table.BeginsWith(table.S("p-")), Descending: true}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.ID)
	}
}

func ExampleScope_QueryPage() {
	// An HTTP handler that pages with an opaque cursor. The cursor is
	// encrypted and authenticated under the tenant's key: another tenant,
	// or an edited cursor, gets ErrInvalidCursor.
	patients := patientsTable()
	http.HandleFunc("/patients", func(w http.ResponseWriter, r *http.Request) {
		s, err := patients.FromContext(r.Context()) // the tenant set by auth middleware
		if err != nil {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		page, err := s.QueryPage(r.Context(), table.QueryInput{PageSize: 50, Cursor: r.URL.Query().Get("cursor")})
		if errors.Is(err, table.ErrInvalidCursor) {
			http.Error(w, "bad cursor", http.StatusBadRequest)
			return
		}
		if err != nil {
			http.Error(w, "error", http.StatusInternalServerError)
			return
		}
		for _, p := range page.Items {
			fmt.Fprintln(w, p.ID)
		}
		fmt.Fprintln(w, "next:", page.Cursor)
	})
}

func ExampleWithTenant() {
	// Authentication middleware knows the tenant (for example from a JWT
	// claim) and puts it in the context; handlers take their scope from it.
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tenant := r.Header.Get("X-Verified-Tenant") // stand-in for a verified claim
			next.ServeHTTP(w, r.WithContext(table.WithTenant(r.Context(), tenant)))
		})
	}
	_ = auth
}

func ExampleScope_BatchWrite() {
	ctx := context.Background()
	s := patientsTable().For("tenant-0042")
	puts := []*Patient{{Tenant: "tenant-0042", ID: "p-2"}, {Tenant: "tenant-0042", ID: "p-3"}}
	err := s.BatchWrite(ctx, puts, []table.Key{table.SortKey(table.S("p-9"))})
	var be *table.BatchError
	if errors.As(err, &be) {
		// Nothing is dropped: retry or record what is left.
		log.Printf("%d writes unprocessed, %d failed", len(be.Unprocessed), len(be.Failed))
	}
}

func ExampleScope_BatchGet() {
	ctx := context.Background()
	s := patientsTable().For("tenant-0042")
	got, err := s.BatchGet(ctx, []table.Key{table.SortKey(table.S("p-2")), table.SortKey(table.S("p-3"))})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range got {
		if p != nil {
			fmt.Println(p.ID)
		}
	}
}

func ExampleTransactWrite() {
	ctx := context.Background()
	client := dynamoClient()
	keys := keyProvider()
	patients, _ := table.New[Patient](client, "patients", keys)
	docs, _ := table.New[Doc](client, "docs", keys)
	tenant := "tenant-0042"
	err := table.TransactWrite(ctx, client,
		patients.For(tenant).TxCreate(&Patient{Tenant: tenant, ID: "p-4"}),
		docs.For(tenant).TxPut(&Doc{PK: "inbox", SK: "d-1", Org: tenant, Body: "welcome"}),
	)
	if errors.Is(err, table.ErrAlreadyExists) {
		fmt.Println("p-4 exists; nothing was written")
	}
}

func ExampleTransactGet() {
	ctx := context.Background()
	client := dynamoClient()
	patients, _ := table.New[Patient](client, "patients", keyProvider())
	s := patients.For("tenant-0042")
	a, b := s.TxGet(table.SortKey(table.S("p-1"))), s.TxGet(table.SortKey(table.S("p-2")))
	if err := table.TransactGet(ctx, client, a, b); err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Item != nil, b.Item != nil)
}

func ExampleTable_Scan() {
	// An admin job (for example re-sealing after a key rotation) reads
	// every tenant's items; each is verified under its own tenant's key.
	ctx := context.Background()
	patients := patientsTable()
	for p, err := range patients.Scan(ctx, table.ScanInput{Segments: 4}) {
		if err != nil {
			log.Print(err) // an *ItemError: that item only
			continue
		}
		if _, err := patients.For(p.Tenant).Update(ctx, table.SortKey(table.S(p.ID)), func(*Patient) error { return nil }); err != nil {
			log.Print(err)
		}
	}
}

func ExampleKeyOf() {
	// The reflection path builds keys from Go values; generated repositories
	// build table.Key directly from typed arguments.
	k, err := table.KeyOf("shared-inbox", "d-1")
	if err != nil {
		log.Fatal(err)
	}
	_ = k
}

func ExampleScope_Put() {
	ctx := context.Background()
	s := patientsTable().For("tenant-0042")
	p, err := s.Get(ctx, table.SortKey(table.S("p-1")))
	if err != nil {
		log.Fatal(err)
	}
	p.Plan = "silver"
	// Put replaces version p.Version and fails if someone else wrote since.
	if err := s.Put(ctx, p); errors.Is(err, table.ErrConflict) {
		fmt.Println("changed meanwhile; read again")
	}
}

func ExampleScope_Delete() {
	ctx := context.Background()
	s := patientsTable().For("tenant-0042")
	// Delete only the version we looked at.
	err := s.Delete(ctx, table.SortKey(table.S("p-1")), table.IfVersion(3))
	switch {
	case errors.Is(err, table.ErrConflict):
		fmt.Println("changed meanwhile")
	case errors.Is(err, table.ErrNotFound):
		fmt.Println("already gone")
	}
}
