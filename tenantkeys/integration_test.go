package tenantkeys_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func sealer(t testing.TB) *attrcrypt.Sealer {
	t.Helper()
	s, err := attrcrypt.NewSealer(attrcrypt.Config{
		Table:           "bench",
		TenantAttribute: "tenant",
		Actions:         map[string]attrcrypt.Action{"ssn": attrcrypt.ActionEncrypt},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func smallItem(tenant string, i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"tenant": &types.AttributeValueMemberS{Value: tenant},
		"id":     &types.AttributeValueMemberS{Value: fmt.Sprintf("item-%06d", i)},
		"ssn":    &types.AttributeValueMemberS{Value: "123-45-6789"},
		"plan":   &types.AttributeValueMemberS{Value: "business"},
	}
}

// TestTenantIsolationItems: tenant A's key never opens tenant B's item,
// with keys from the DynamoDB key store wrapped by KMS (kmslocal).
func TestTenantIsolationItems(t *testing.T) {
	ctx := context.Background()
	c := itest.DynamoDB(t)
	tbl := itest.NewTable(t, c, tenantkeys.CreateTableInput("keystore"))
	srv := startKMS(t)
	w := tenantkeys.NewKMSWrapper(srv.Client(), tenantkeys.SharedKey(srv.CreateKey("shared")))
	store := tenantkeys.NewDynamoDBStore(c, tbl, w, tenantkeys.WithCreateOnFirstUse(true))
	p := tenantkeys.NewCache(store)
	ka := mustKey(t)(p.CurrentKey(ctx, "tenant-a", ""))
	kb := mustKey(t)(p.CurrentKey(ctx, "tenant-b", ""))
	if ka.Material == kb.Material {
		t.Fatal("tenants share key material")
	}
	s := sealer(t)
	itemB, err := s.Seal(smallItem("tenant-b", 1), kb)
	if err != nil {
		t.Fatal(err)
	}
	// A's key refuses B's item before any cryptography.
	if _, _, err := s.Open(itemB, ka); !errors.Is(err, attrcrypt.ErrWrongTenant) {
		t.Fatalf("open B's item with A's key: err = %v, want ErrWrongTenant", err)
	}
	// Even relabelled as B's, A's material does not open it.
	forged := attrcrypt.Key{Ref: kb.Ref, Material: ka.Material}
	if _, _, err := s.Open(itemB, forged); !errors.Is(err, attrcrypt.ErrTampered) {
		t.Fatalf("open B's item with A's material: err = %v, want ErrTampered", err)
	}
	if _, _, err := s.Open(itemB, kb); err != nil {
		t.Fatalf("open B's item with B's key: %v", err)
	}
}

// TestSeal100kItemsAcross1000Tenants seals 100,000 small items for 1,000
// tenants (round robin) with keys from the cache over the KMS-wrapped
// DynamoDB key store, and checks that KMS was asked once per tenant key.
func TestSeal100kItemsAcross1000Tenants(t *testing.T) {
	const tenants, items, workers = 1000, 100_000, 4
	ctx := context.Background()
	c := itest.DynamoDB(t)
	tbl := itest.NewTable(t, c, tenantkeys.CreateTableInput("keystore"))
	srv := startKMS(t)
	w := tenantkeys.NewKMSWrapper(srv.Client(), tenantkeys.SharedKey(srv.CreateKey("shared")))
	name := func(i int) string { return fmt.Sprintf("tenant-%04d", i) }

	// Admin side: create the 1,000 tenant keys with a small worker pool.
	began := time.Now()
	admin := tenantkeys.NewDynamoDBStore(c, tbl, w)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if _, err := admin.Create(ctx, name(i), ""); err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range tenants {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	// Create makes each tenant's data key and its beacon key.
	if got := srv.Calls("GenerateDataKey"); got != 2*tenants {
		t.Fatalf("creation made %d GenerateDataKey calls, want %d", got, 2*tenants)
	}
	srv.ResetCalls()
	created := time.Since(began)
	began = time.Now()

	// Application side: a decrypt-only store behind a cache.
	app := tenantkeys.NewCache(tenantkeys.NewDynamoDBStore(c, tbl, w))
	s := sealer(t)
	var sealed sync.WaitGroup
	errs := make(chan error, workers)
	for wkr := range workers {
		sealed.Add(1)
		go func() {
			defer sealed.Done()
			for i := wkr; i < items; i += workers {
				tenant := name(i % tenants)
				k, err := app.CurrentKey(ctx, tenant, "")
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.Seal(smallItem(tenant, i), k); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	sealed.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	calls := srv.AllCalls()
	if kmsCalls := calls["Decrypt"] + calls["GenerateDataKey"]; kmsCalls != tenants {
		t.Fatalf("KMS Decrypt+GenerateDataKey calls = %d for %d items, want %d (one per tenant key); all calls: %v", kmsCalls, items, tenants, calls)
	}
	st := app.Stats()
	if st.Loads != tenants || st.Hits+st.Misses != items {
		t.Fatalf("cache stats = %+v", st)
	}
	t.Logf("%d items, %d tenants: KMS calls %v (creation: %d GenerateDataKey), cache %+v; creating keys took %v, sealing %v",
		items, tenants, calls, tenants, st, created.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}
