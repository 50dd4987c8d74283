package codegen_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dynaseal/dynaseal/itest"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

const e2eModel = `package clinic

import "time"

//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Visit -table visits

// Visit is one visit of a patient.
type Visit struct {
	Clinic  string            ` + "`dynamodbav:\"clinic\" seal:\"pk,tenant\"`" + `
	At      time.Time         ` + "`dynamodbav:\"at,unixtime\" seal:\"sk\"`" + `
	Patient string            ` + "`dynamodbav:\"patient\" seal:\"encrypt,beacon,lower,index=byPatient\"`" + `
	Ward    string            ` + "`dynamodbav:\"ward,omitempty\" seal:\"index=byWard\"`" + `
	Notes   []string          ` + "`dynamodbav:\"notes,omitempty\" seal:\"encrypt\"`" + `
	Vitals  map[string]float64 ` + "`dynamodbav:\"vitals\" seal:\"encrypt\"`" + `
	Room    *int              ` + "`dynamodbav:\"room\"`" + `
	Version int64             ` + "`dynamodbav:\"v\" seal:\"version\"`" + `
}
`

const e2eTest = `package clinic

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

func TestVisits(t *testing.T) {
	ctx := context.Background()
	db := itest.DynamoDB(t)
	s, err := schema.For[Visit]()
	if err != nil {
		t.Fatal(err)
	}
	name := itest.NewTable(t, db, s.CreateTableInput(VisitTable))
	ring, err := tenantkeys.ParseKeyring([]byte("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := NewVisitRepositoryNamed(db, name, tenantkeys.NewMemoryStore(ring, tenantkeys.WithCreateOnFirstUse(true)))
	if err != nil {
		t.Fatal(err)
	}
	sc := repo.For("north")
	base := time.Unix(1700000000, 0)
	room := 4
	for i := 0; i < 5; i++ {
		v := &Visit{Clinic: "north", At: base.Add(time.Duration(i) * time.Hour), Patient: "patient", Vitals: map[string]float64{"hr": 60 + float64(i)}, Room: &room}
		if i%2 == 0 {
			v.Ward = "east"
		}
		if i == 4 {
			v.Patient = "Other"
		}
		if err := sc.Put(ctx, v); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	got, err := sc.Get(ctx, base.Add(2*time.Hour))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Vitals["hr"] != 62 || got.Room == nil || *got.Room != 4 || got.Version != 1 {
		t.Fatalf("Get = %+v", got)
	}
	n := 0
	for v, err := range sc.Query(ctx, VisitAtGreaterOrEqual(base.Add(3*time.Hour))) {
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		if v.At.Before(base.Add(3 * time.Hour)) {
			t.Fatalf("Query returned %v", v.At)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("Query returned %d items, want 2", n)
	}
	if _, err := repo.For("south").Get(ctx, base); !errors.Is(err, table.ErrNotFound) && !errors.Is(err, table.ErrWrongTenant) {
		t.Fatalf("other tenant: %v", err)
	}
	// Generated search methods: a beacon (FindByPatient) and a declared
	// index on a signed attribute (CountByWard).
	found := 0
	for v, err := range sc.FindByPatient(ctx, "PATIENT") {
		if err != nil {
			t.Fatalf("FindByPatient: %v", err)
		}
		if v.Patient != "patient" {
			t.Fatalf("FindByPatient returned patient %q", v.Patient)
		}
		found++
	}
	if found != 4 {
		t.Fatalf("FindByPatient found %d visits, want 4", found)
	}
	for _, err := range repo.For("south").FindByPatient(ctx, "patient") {
		t.Fatalf("FindByPatient in another tenant yielded (%v)", err)
	}
	if n, err := sc.CountByWard(ctx, "east"); err != nil || n != 3 {
		t.Fatalf("CountByWard(east) = %d, %v; want 3", n, err)
	}
}
`

const e2eBad = `package bad

// Bad has a field the generator refuses.
type Bad struct {
	Tenant string   ` + "`dynamodbav:\"tenant\" seal:\"pk,tenant\"`" + `
	Events chan int ` + "`dynamodbav:\"events\"`" + `
}
`

// TestEndToEnd generates code for a fresh module in a temporary directory
// (with go generate and the real command), builds and vets it, and runs its
// test, which uses the generated repository against DynamoDB Local (the
// parent's instance, passed through DYNAMODB_ENDPOINT). It also checks that
// the command reports a refused field with file:line:col and writes nothing.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module and runs go generate; skipped with -short")
	}
	endpoint := itest.Endpoint(t)
	dir, write, run := newModule(t, "DYNAMODB_ENDPOINT="+endpoint, "CI=true")
	write("clinic/visit.go", e2eModel)
	write("clinic/visit_test.go", e2eTest)
	write("bad/bad.go", e2eBad)

	if out, err := run(dir, "generate", "./clinic"); err != nil {
		t.Fatalf("go generate: %v\n%s", err, out)
	}
	gen, err := os.ReadFile(filepath.Join(dir, "clinic", "visit_dynaseal.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !headerRE.MatchString(strings.SplitN(string(gen), "\n", 2)[0]) {
		t.Fatalf("generated file header: %q", strings.SplitN(string(gen), "\n", 2)[0])
	}
	if out, err := run(dir, "vet", "./clinic"); err != nil {
		t.Fatalf("go vet: %v\n%s", err, out)
	}
	if out, err := run(dir, "test", "-count=1", "./clinic"); err != nil {
		t.Fatalf("go test of the generated module: %v\n%s", err, out)
	}

	// A tag changed after generation compiles (conversions ignore tags) but
	// the repository constructor refuses it with genrt.ErrStale.
	model := strings.Replace(e2eModel, "`dynamodbav:\"room\"`", "`dynamodbav:\"room\" seal:\"encrypt\"`", 1)
	write("clinic/visit.go", model)
	out, err := run(dir, "test", "-count=1", "./clinic")
	if err == nil || !strings.Contains(out, "generated code is stale; run go generate") {
		t.Fatalf("a changed seal tag was not refused at construction: %v\n%s", err, out)
	}
	// A field whose type changed after generation stops compiling.
	write("clinic/visit.go", strings.Replace(e2eModel, "Room    *int ", "Room    *int64 ", 1))
	out, err = run(dir, "build", "./clinic")
	if err == nil || !strings.Contains(out, "visit_dynaseal.go") {
		t.Fatalf("a changed field type still compiles: %v\n%s", err, out)
	}
	// Regenerating fixes both.
	write("clinic/visit.go", model)
	if out, err := run(dir, "generate", "./clinic"); err != nil {
		t.Fatalf("go generate after the change: %v\n%s", err, out)
	}
	if out, err := run(dir, "vet", "./clinic"); err != nil {
		t.Fatalf("go vet after regenerating: %v\n%s", err, out)
	}

	out, err = run(filepath.Join(dir, "bad"), "run", "github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen", "-type", "Bad")
	if err == nil {
		t.Fatalf("dynaseal-gen accepted a chan field:\n%s", out)
	}
	if !strings.Contains(out, "bad.go:6:2: schema: Bad.Events: type chan int is not stored") {
		t.Fatalf("error lacks position, field or reason:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad", "bad_dynaseal.go")); !os.IsNotExist(err) {
		t.Fatalf("dynaseal-gen wrote a file despite the error (%v)", err)
	}
}

// newModule makes a fresh module in a temporary directory that requires
// this repository (by a replace directive), and returns its directory, a
// function writing a file into it and one running the go command in a
// directory of it with env added to the environment.
func newModule(t *testing.T, env ...string) (dir string, write func(rel, content string), run func(wd string, args ...string) (string, error)) {
	t.Helper()
	root := repoRoot(t)
	dir = t.TempDir()
	write = func(rel, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := "1.25.0"
	for _, l := range strings.Split(string(goMod), "\n") {
		if strings.HasPrefix(l, "go ") {
			goVersion = strings.TrimSpace(strings.TrimPrefix(l, "go "))
		}
	}
	write("go.mod", "module example.com/e2e\n\ngo "+goVersion+"\n\nrequire github.com/dynaseal/dynaseal v0.0.0\n\nreplace github.com/dynaseal/dynaseal => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))
	env = append(append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off"), env...)
	run = func(wd string, args ...string) (string, error) {
		cmd := exec.Command("go", args...)
		cmd.Dir = wd
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	return dir, write, run
}

const twoDirectivesModel = `package shop

//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Order -table orders
//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Invoice -table invoices

// Order is generated by the first directive.
type Order struct {
	Shop  string ` + "`dynamodbav:\"shop\" seal:\"pk,tenant\"`" + `
	ID    string ` + "`dynamodbav:\"id\" seal:\"sk\"`" + `
	Total int64  ` + "`dynamodbav:\"total\" seal:\"encrypt\"`" + `
}

// Invoice is generated by the second directive.
type Invoice struct {
	Shop        string ` + "`dynamodbav:\"shop\" seal:\"pk,tenant\"`" + `
	ID          string ` + "`dynamodbav:\"id\" seal:\"sk\"`" + `
	AmountCents int64  ` + "`dynamodbav:\"amount\" seal:\"encrypt\"`" + `
}
`

// TestGenerateTwoDirectives reproduces one go:generate line per type in a
// package: after a field of the second type changes, go generate ./... runs
// the first line while the second type's generated file is stale (it no
// longer compiles against the struct). Loading the package without the
// files dynaseal-gen wrote makes every line succeed, and the package
// builds again once all have run.
func TestGenerateTwoDirectives(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module and runs go generate; skipped with -short")
	}
	dir, write, run := newModule(t)
	write("shop/shop.go", twoDirectivesModel)
	if out, err := run(dir, "generate", "./..."); err != nil {
		t.Fatalf("first go generate: %v\n%s", err, out)
	}
	for _, f := range []string{"order_dynaseal.go", "invoice_dynaseal.go"} {
		if _, err := os.Stat(filepath.Join(dir, "shop", f)); err != nil {
			t.Fatal(err)
		}
	}
	write("shop/shop.go", strings.Replace(twoDirectivesModel, "AmountCents int64 ", "AmountCents int32 ", 1))
	out, err := run(dir, "build", "./shop")
	if err == nil || !strings.Contains(out, "invoice_dynaseal.go") {
		t.Fatalf("the changed field did not make invoice_dynaseal.go stale: %v\n%s", err, out)
	}
	if out, err := run(dir, "generate", "./..."); err != nil {
		t.Fatalf("go generate with a stale sibling file: %v\n%s", err, out)
	}
	if out, err := run(dir, "vet", "./shop"); err != nil {
		t.Fatalf("go vet after regenerating: %v\n%s", err, out)
	}
	gen, err := os.ReadFile(filepath.Join(dir, "shop", "invoice_dynaseal.go"))
	if err != nil || !strings.Contains(string(gen), "AmountCents int32") {
		t.Fatalf("invoice_dynaseal.go was not regenerated for int32 (%v)", err)
	}
}
