package tenantkeys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/itest/kmslocal"
	"github.com/dynaseal/dynaseal/itest/stslocal"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

const keyAccountRole = "arn:aws:iam::999988887777:role/dynaseal-tenant-keys"

// tagPolicy fronts kmslocal the way the key policy of the README's IAM
// section guards a key: a request is allowed only when the tenant of the
// session that signed it (aws:PrincipalTag/tenant, looked up from the
// access key id stslocal issued) equals its encryption context's tenant
// (kms:EncryptionContext:tenant). Anything else is AccessDeniedException.
type tagPolicy struct {
	sts     *stslocal.Server
	proxy   *httputil.ReverseProxy
	allowed atomic.Int64
	denied  atomic.Int64
}

func newTagPolicy(t *testing.T, kmsSrv *kmslocal.Server, sts *stslocal.Server) (*tagPolicy, *kms.Client) {
	u, err := url.Parse(kmsSrv.URL())
	if err != nil {
		t.Fatal(err)
	}
	p := &tagPolicy{sts: sts, proxy: httputil.NewSingleHostReverseProxy(u)}
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	p.proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	c := kms.New(kms.Options{Region: kmslocal.Region, BaseEndpoint: aws.String(front.URL), RetryMaxAttempts: 1,
		HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}})
	return p, c
}

func (p *tagPolicy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var req struct {
		EncryptionContext map[string]string
	}
	_ = json.Unmarshal(body, &req)
	tenant, ok := p.sts.TenantOf(stslocal.AccessKeyID(r.Header.Get("Authorization")))
	if !ok || tenant != req.EncryptionContext[tenantkeys.ContextTenant] {
		p.denied.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(400)
		fmt.Fprint(w, `{"__type":"AccessDeniedException","message":"not authorized by the key policy"}`)
		return
	}
	p.allowed.Add(1)
	r.Body = io.NopCloser(bytes.NewReader(body))
	p.proxy.ServeHTTP(w, r)
}

// switchWrapper lets one store be written by the admin wrapper and then
// read by the application's.
type switchWrapper struct {
	cur atomic.Pointer[tenantkeys.Wrapper]
}

func (s *switchWrapper) set(w tenantkeys.Wrapper) { s.cur.Store(&w) }
func (s *switchWrapper) GenerateWrapped(ctx context.Context, ref attrcrypt.KeyRef) (tenantkeys.Wrapped, error) {
	return (*s.cur.Load()).GenerateWrapped(ctx, ref)
}
func (s *switchWrapper) GenerateKey(ctx context.Context, ref attrcrypt.KeyRef) (attrcrypt.Key, tenantkeys.Wrapped, error) {
	return (*s.cur.Load()).GenerateKey(ctx, ref)
}
func (s *switchWrapper) Unwrap(ctx context.Context, ref attrcrypt.KeyRef, wr tenantkeys.Wrapped) (attrcrypt.Key, error) {
	return (*s.cur.Load()).Unwrap(ctx, ref, wr)
}

// TestTenantRolesThousandTenantsAssumeRoleOnce: 1,000 tenants' first
// requests, five goroutines per tenant at once, through per-tenant
// credentials make exactly 1,000 AssumeRole calls (one per tenant, with the
// tenant as session tag) and 1,000 KMS Decrypt calls, each signed by its
// own tenant's session.
func TestTenantRolesThousandTenantsAssumeRoleOnce(t *testing.T) {
	ctx := context.Background()
	kmsSrv := startKMS(t)
	sts := stslocal.Start(keyAccountRole)
	t.Cleanup(sts.Close)
	sts.SetLatency(20 * time.Millisecond) // keep the goroutines of a tenant overlapping
	policy, appKMS := newTagPolicy(t, kmsSrv, sts)
	shared := kmsSrv.CreateKey("shared")

	sw := &switchWrapper{}
	sw.set(tenantkeys.NewKMSWrapper(kmsSrv.Client(), tenantkeys.SharedKey(shared)))
	store := tenantkeys.NewMemoryStore(sw)
	const tenants, perTenant = 1000, 5
	name := func(i int) string { return fmt.Sprintf("tenant-%04d", i) }
	began := time.Now()
	for i := range tenants {
		if _, err := store.Create(ctx, name(i), ""); err != nil {
			t.Fatal(err)
		}
	}

	roles := tenantkeys.NewTenantRoles(sts.Client(), keyAccountRole, appKMS)
	sw.set(tenantkeys.NewKMSWrapper(appKMS, tenantkeys.SharedKey(shared), tenantkeys.WithTenantRoles(roles)))
	cache := tenantkeys.NewCache(store)
	kmsSrv.ResetCalls()

	keys := make([][perTenant]attrcrypt.Key, tenants)
	var failures atomic.Int64
	// 50 tenants at a time, each asked by perTenant goroutines at once:
	// concurrency within a tenant is what singleflight must absorb, and
	// the bound keeps the race detector's goroutine limit far away.
	work := make(chan int)
	var workers sync.WaitGroup
	for range 50 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for i := range work {
				var wg sync.WaitGroup
				start := make(chan struct{})
				for j := range perTenant {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						k, err := cache.CurrentKey(ctx, name(i), "")
						if err != nil {
							if failures.Add(1) == 1 {
								t.Errorf("tenant %d: %v", i, err)
							}
							return
						}
						keys[i][j] = k
					}()
				}
				close(start)
				wg.Wait()
			}
		}()
	}
	setup := time.Since(began)
	for i := range tenants {
		work <- i
	}
	close(work)
	workers.Wait()
	t.Logf("setup %v, first requests %v", setup, time.Since(began)-setup)
	if failures.Load() > 0 {
		t.Fatalf("%d requests failed", failures.Load())
	}
	for i := range tenants {
		for j := range perTenant {
			if keys[i][j].IsZero() || keys[i][j].Material != keys[i][0].Material || keys[i][j].Ref.Tenant != name(i) {
				t.Fatalf("tenant %d goroutine %d got %s", i, j, keys[i][j].Ref)
			}
		}
	}
	if got := sts.Calls(); got != tenants {
		t.Errorf("AssumeRole calls = %d, want %d", got, tenants)
	}
	if got := sts.Tenants(); got != tenants {
		t.Errorf("distinct session tags = %d, want %d", got, tenants)
	}
	for _, i := range []int{0, 1, 500, 999} {
		if got := sts.CallsFor(name(i)); got != 1 {
			t.Errorf("AssumeRole calls tagged %s = %d, want 1", name(i), got)
		}
	}
	if got := kmsSrv.Calls("Decrypt"); got != tenants {
		t.Errorf("KMS Decrypt calls = %d, want %d", got, tenants)
	}
	if a, d := policy.allowed.Load(), policy.denied.Load(); a != tenants || d != 0 {
		t.Errorf("tag policy allowed %d and denied %d requests, want %d and 0", a, d, tenants)
	}

	// A second round is served from the cache: no STS or KMS call.
	for i := range tenants {
		if _, err := cache.CurrentKey(ctx, name(i), ""); err != nil {
			t.Fatal(err)
		}
	}
	if sts.Calls() != tenants || kmsSrv.Calls("Decrypt") != tenants {
		t.Errorf("second round: %d AssumeRole, %d Decrypt", sts.Calls(), kmsSrv.Calls("Decrypt"))
	}
}

// TestTenantRolesCrossTenantDenied: one tenant's session cannot decrypt
// another tenant's key, and the wrapper's errors keep their sentinels.
func TestTenantRolesCrossTenantDenied(t *testing.T) {
	ctx := context.Background()
	kmsSrv := startKMS(t)
	sts := stslocal.Start(keyAccountRole)
	t.Cleanup(sts.Close)
	policy, appKMS := newTagPolicy(t, kmsSrv, sts)
	shared := kmsSrv.CreateKey("shared")
	admin := tenantkeys.NewKMSWrapper(kmsSrv.Client(), tenantkeys.SharedKey(shared))
	_, wb, err := admin.GenerateKey(ctx, ref("b", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	roles := tenantkeys.NewTenantRoles(sts.Client(), keyAccountRole, appKMS)

	// Tenant a's client, b's context: the tag policy refuses.
	ca, err := roles.Client(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ca.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wb.Blob, EncryptionContext: tenantkeys.EncryptionContext(ref("b", "", 1))})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" || policy.denied.Load() != 1 {
		t.Fatalf("a's session decrypting b's key: err = %v, want AccessDeniedException", err)
	}
	// Through the wrapper b's key unwraps with b's own session.
	w := tenantkeys.NewKMSWrapper(appKMS, tenantkeys.SharedKey(shared), tenantkeys.WithTenantRoles(roles))
	if _, err := w.Unwrap(ctx, ref("b", "", 1), wb); err != nil {
		t.Fatal(err)
	}
	// A wrapper whose per-tenant clients are crossed is refused by KMS:
	// ErrAccessDenied, not success.
	crossed := tenantkeys.NewKMSWrapper(appKMS, tenantkeys.SharedKey(shared), tenantkeys.WithTenantClients(
		func(ctx context.Context, _ string) (tenantkeys.KMSAPI, error) { return roles.Client(ctx, "a") }))
	if _, err := crossed.Unwrap(ctx, ref("b", "", 1), wb); !errors.Is(err, tenantkeys.ErrAccessDenied) {
		t.Fatalf("crossed sessions: err = %v, want ErrAccessDenied", err)
	}

	// STS refusing the tenant is ErrAccessDenied, before any KMS call.
	sts.Deny("c")
	before := kmsSrv.Calls("Decrypt")
	if _, err := w.Unwrap(ctx, ref("c", "", 1), wb); !errors.Is(err, tenantkeys.ErrAccessDenied) {
		t.Fatalf("STS denies c: err = %v, want ErrAccessDenied", err)
	}
	if kmsSrv.Calls("Decrypt") != before {
		t.Error("KMS was called though STS refused the tenant")
	}
	// A tenant id that cannot be a session tag value is refused locally.
	calls := sts.Calls()
	if _, err := roles.Client(ctx, "bad#tenant"); !errors.Is(err, tenantkeys.ErrInvalidName) {
		t.Fatalf("tenant id with '#': err = %v, want ErrInvalidName", err)
	}
	if sts.Calls() != calls {
		t.Error("STS called for an invalid tenant id")
	}
	// STS down is ErrKMSUnavailable.
	sts.Close()
	if _, err := roles.Client(ctx, "d"); !errors.Is(err, tenantkeys.ErrKMSUnavailable) {
		t.Fatalf("STS down: err = %v, want ErrKMSUnavailable", err)
	}
}

// TestTenantRolesRefreshBeforeExpiry: credentials are replaced before they
// expire, once, and not before the refresh window.
func TestTenantRolesRefreshBeforeExpiry(t *testing.T) {
	ctx := context.Background()
	kmsSrv := startKMS(t)
	sts := stslocal.Start(keyAccountRole)
	t.Cleanup(sts.Close)
	_, appKMS := newTagPolicy(t, kmsSrv, sts)
	const lifetime, window = 3 * time.Second, 2 * time.Second
	sts.SetExpiry(lifetime)
	roles := tenantkeys.NewTenantRoles(sts.Client(), keyAccountRole, appKMS, tenantkeys.WithRoleRefresh(window))

	began := time.Now()
	if _, err := roles.Client(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	expires := began.Add(lifetime)
	for range 10 {
		if _, err := roles.Client(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	// Inside the lifetime minus the window (1 s) no second AssumeRole
	// can have happened; allow for the time the loop took.
	if time.Since(began) < lifetime-window && sts.CallsFor("a") != 1 {
		t.Fatalf("AssumeRole calls within the lifetime = %d, want 1", sts.CallsFor("a"))
	}
	var refreshedAt time.Time
	for time.Now().Before(expires.Add(time.Second)) {
		if _, err := roles.Client(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if sts.CallsFor("a") == 2 {
			refreshedAt = time.Now()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if refreshedAt.IsZero() {
		t.Fatalf("never refreshed: %d AssumeRole calls", sts.CallsFor("a"))
	}
	if !refreshedAt.Before(expires) {
		t.Errorf("refreshed at +%v, after the credentials expired at +%v", refreshedAt.Sub(began), lifetime)
	}
	if sts.CallsFor("a") != 2 {
		t.Errorf("AssumeRole calls = %d, want 2", sts.CallsFor("a"))
	}
}
