package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// testRecords are the items the application writes; their name, email and
// plan values must never appear in the command's output unless asked for.
var testRecords = []*record{
	{Tenant: "acme", ID: "r1", Name: "Ada Lovelace", Email: "ada@secret.example", Plan: "plan-gold", Score: 1234, Tags: []string{"tag-x", "tag-y"}, Seen: 99},
	{Tenant: "acme", ID: "r2", Name: "Grace Hopper", Email: "grace@secret.example", Plan: "plan-free", Score: -5, Tags: []string{"tag-z"}},
	{Tenant: "acme", ID: "r3", Name: "Hedy Lamarr", Email: "hedy@secret.example", Plan: "plan-pro", Score: 0, Tags: []string{"tag-w"}, Seen: 7},
	{Tenant: "globex", ID: "g1", Name: "Other Tenant", Email: "other@secret.example", Plan: "plan-x", Score: 1, Tags: []string{"tag-o"}},
}

func (f *fixture) seed(t *testing.T) {
	t.Helper()
	for _, tn := range []string{"acme", "globex"} {
		f.run(t, "keys", "create", "--tenant", tn).ok(t, "create "+tn)
	}
	recs := make([]*record, len(testRecords))
	for i, r := range testRecords {
		c := *r
		c.Tags = slices.Clone(r.Tags)
		recs[i] = &c
	}
	f.write(t, recs...)
}

// tamper edits one signed attribute of a stored item behind dynaseal's back.
func (f *fixture) tamper(t *testing.T, tenant, id, attr string, v types.AttributeValue) {
	t.Helper()
	_, err := f.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(f.table),
		Key:                       map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: tenant}, "id": &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          aws.String("SET #a = :v"),
		ExpressionAttributeNames:  map[string]string{"#a": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": v},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func secretsIn(s string) []string {
	var found []string
	for _, r := range testRecords {
		for _, v := range []string{r.Name, r.Email, r.Plan} {
			if strings.Contains(s, v) {
				found = append(found, v)
			}
		}
	}
	return found
}

// TestInspect shows a genuine item's header (key reference, every covered
// attribute with its recorded action, the plain attribute), never a value,
// and a tampered item as tampered with exit status 1.
func TestInspect(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	f.run(t, "keys", "rotate", "--tenant", "acme").ok(t, "rotate")
	f.write(t, &record{Tenant: "acme", ID: "r4", Name: "Katherine Johnson", Email: "kj@secret.example", Plan: "plan-gold", Tags: []string{"t"}})

	r := f.run(t, "inspect", "--pk", "acme", "--sk", "r1", "--json").ok(t, "inspect r1")
	got := decodeJSON[inspectJSON](t, r.stdout)
	if !got.Verified || got.Status != statusVerified || got.KeyRef == nil || got.KeyRef.Version != 1 || got.KeyRef.Tenant != "acme" || got.FormatVersion != 1 {
		t.Fatalf("inspect r1: %+v", got)
	}
	wantCovered := []coveredJSON{
		{"email", "encrypt"}, {"id", "sign"}, {"name", "encrypt"}, {"plan", "sign"},
		{"score", "sign"}, {"tags", "sign"}, {"tenant", "sign"}, {"v", "sign"},
	}
	if !reflect.DeepEqual(got.Covered, wantCovered) || !reflect.DeepEqual(got.Plain, []string{"seen"}) {
		t.Errorf("covered %v plain %v, want %v [seen]", got.Covered, got.Plain, wantCovered)
	}
	if got.Values != nil {
		t.Errorf("values printed without --show-values")
	}
	if s := secretsIn(r.stdout + r.stderr); len(s) > 0 {
		t.Errorf("inspect printed values %v:\n%s", s, r.stdout)
	}
	text := f.run(t, "inspect", "--pk", "acme", "--sk", "r4").ok(t, "inspect r4 text").stdout
	for _, want := range []string{"version=2", "verifies", "yes", "email", "encrypt", "seen", "plain"} {
		if !strings.Contains(text, want) {
			t.Errorf("inspect text lacks %q:\n%s", want, text)
		}
	}
	if s := secretsIn(text); len(s) > 0 {
		t.Errorf("inspect text printed values %v:\n%s", s, text)
	}

	// --show-values prints the decrypted item, after verification.
	shown := decodeJSON[inspectJSON](t, f.run(t, "inspect", "--pk", "acme", "--sk", "r1", "--show-values", "--json").ok(t, "show values").stdout)
	if shown.Values["name"] != "Ada Lovelace" || shown.Values["email"] != "ada@secret.example" || shown.Values["score"] != json.Number("1234") {
		t.Errorf("show-values: %v", shown.Values)
	}

	// Tampering: a signed attribute edited; an encrypted value moved from
	// another item; the item then shows as tampered, exit status 1, and
	// --show-values prints nothing of it.
	f.tamper(t, "acme", "r2", "plan", &types.AttributeValueMemberS{Value: "plan-gold"})
	r = f.run(t, "inspect", "--pk", "acme", "--sk", "r2", "--show-values", "--json")
	bad := decodeJSON[inspectJSON](t, r.stdout)
	if r.code != exitFailed || bad.Verified || bad.Status != statusTampered || bad.Values != nil || !strings.Contains(bad.Error, "signature does not match") {
		t.Fatalf("tampered r2: exit %d %+v", r.code, bad)
	}
	stored, err := f.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(f.table),
		Key: map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: "acme"}, "id": &types.AttributeValueMemberS{Value: "r3"}}})
	if err != nil {
		t.Fatal(err)
	}
	f.tamper(t, "acme", "r1", "name", stored.Item["name"])
	r = f.run(t, "inspect", "--pk", "acme", "--sk", "r1")
	if r.code != exitFailed || !strings.Contains(r.stdout, "NO: tampered") || secretsIn(r.stdout+r.stderr) != nil {
		t.Fatalf("swapped ciphertext: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// Stripped header and signature: not sealed, not verified.
	_, err = f.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(f.table),
		Key:              map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: "acme"}, "id": &types.AttributeValueMemberS{Value: "r3"}},
		UpdateExpression: aws.String("REMOVE #h, #s"), ExpressionAttributeNames: map[string]string{"#h": "__h", "#s": "__s"}})
	if err != nil {
		t.Fatal(err)
	}
	r = f.run(t, "inspect", "--pk", "acme", "--sk", "r3", "--json", "--show-values")
	if ns := decodeJSON[inspectJSON](t, r.stdout); r.code != exitFailed || ns.Status != statusNotSealed || ns.Verified || ns.Values != nil {
		t.Fatalf("stripped: exit %d %+v", r.code, ns)
	}

	// A shredded tenant's item is unverifiable, not tampered.
	f.run(t, "keys", "shred", "--tenant", "globex", "--yes").ok(t, "shred")
	r = f.run(t, "inspect", "--pk", "globex", "--sk", "g1", "--json")
	if sh := decodeJSON[inspectJSON](t, r.stdout); r.code != exitFailed || sh.Status != statusUnverifiable || !strings.Contains(sh.Error, "shredded") {
		t.Fatalf("shredded: exit %d %+v", r.code, sh)
	}

	f.run(t, "inspect", "--pk", "acme", "--sk", "nope").want(t, "missing item", exitFailed, "no item")
	f.run(t, "inspect", "--pk", "acme").want(t, "no sort key", exitUsage, "--sk")
	// Another logical name: every item fails, as a copy into another table would.
	r = f.run(t, "inspect", "--pk", "acme", "--sk", "r4", "--logical-name", "elsewhere", "--json")
	if ln := decodeJSON[inspectJSON](t, r.stdout); r.code != exitFailed || ln.Status != statusTampered {
		t.Fatalf("other logical name: exit %d %+v", r.code, ln)
	}
}

// TestExport checks that a tenant's export is exactly its items as written,
// decrypted, one JSON object per line, and that an item that does not
// verify is reported by key on stderr and left out.
func TestExport(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	r := f.run(t, "export", "--tenant", "acme").ok(t, "export")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var want []map[string]any
	for _, rec := range testRecords {
		if rec.Tenant != "acme" {
			continue
		}
		m := map[string]any{
			"tenant": rec.Tenant, "id": rec.ID, "name": rec.Name, "email": rec.Email, "plan": rec.Plan,
			"score": json.Number(itoa(rec.Score)), "tags": anySlice(rec.Tags), "v": json.Number("1"),
		}
		m["seen"] = json.Number(itoa(int(rec.Seen)))
		want = append(want, m)
	}
	if len(lines) != len(want) {
		t.Fatalf("export wrote %d lines, want %d:\n%s", len(lines), len(want), r.stdout)
	}
	for i, line := range lines {
		got := decodeJSON[map[string]any](t, line)
		if tags, ok := got["tags"].([]any); ok {
			slices.SortFunc(tags, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("line %d:\n got %v\nwant %v", i, got, want[i])
		}
	}
	if !strings.Contains(r.stderr, "3 items exported, 0 failed") {
		t.Errorf("stderr: %s", r.stderr)
	}

	// Typed JSON decodes back to the very attribute values the application wrote.
	r = f.run(t, "export", "--tenant", "acme", "--dynamodb-json").ok(t, "export typed")
	first := decodeJSON[map[string]map[string]any](t, strings.Split(r.stdout, "\n")[0])
	back := map[string]types.AttributeValue{}
	for name, tv := range first {
		back[name] = fromTyped(t, tv)
	}
	var rec record
	if err := attributevalue.UnmarshalMap(back, &rec); err != nil {
		t.Fatal(err)
	}
	slices.Sort(rec.Tags)
	wantRec := *testRecords[0]
	wantRec.Version = 1
	if !reflect.DeepEqual(rec, wantRec) {
		t.Errorf("typed export decodes to %+v, want %+v", rec, wantRec)
	}

	// A tampered item is left out and reported by key, never by value.
	f.tamper(t, "acme", "r2", "score", &types.AttributeValueMemberN{Value: "1000000"})
	r = f.run(t, "export", "--tenant", "acme")
	if r.code != exitFailed || strings.Count(strings.TrimSpace(r.stdout), "\n") != 1 || strings.Contains(r.stdout, `"r2"`) {
		t.Fatalf("export with a tampered item: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, `id="r2": tampered`) || strings.Contains(r.stderr, "1000000") || secretsIn(r.stderr) != nil {
		t.Errorf("stderr: %s", r.stderr)
	}
	// Another tenant's export holds only its own item.
	r = f.run(t, "export", "--tenant", "globex").ok(t, "export globex")
	if strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, "Other Tenant") || strings.Contains(r.stdout, "acme") {
		t.Errorf("globex export:\n%s", r.stdout)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range slices.Sorted(slices.Values(s)) {
		out[i] = v
	}
	return out
}

// fromTyped converts DynamoDB JSON (as decoded with UseNumber) back to an
// attribute value, for the scalar and set types the test record uses.
func fromTyped(t *testing.T, tv map[string]any) types.AttributeValue {
	t.Helper()
	for k, v := range tv {
		switch k {
		case "S":
			return &types.AttributeValueMemberS{Value: v.(string)}
		case "N":
			return &types.AttributeValueMemberN{Value: v.(string)}
		case "B":
			b, err := base64.StdEncoding.DecodeString(v.(string))
			if err != nil {
				t.Fatal(err)
			}
			return &types.AttributeValueMemberB{Value: b}
		case "SS":
			var ss []string
			for _, e := range v.([]any) {
				ss = append(ss, e.(string))
			}
			return &types.AttributeValueMemberSS{Value: ss}
		}
		t.Fatalf("unexpected type %s", k)
	}
	return nil
}

// TestInspectEditedKeyVersion: an item sealed under version 2 whose header
// is edited to name the retired version 1 is tampered, not unverifiable;
// a genuine item under the retired version is unverifiable.
func TestInspectEditedKeyVersion(t *testing.T) {
	f := newFixture(t)
	f.seed(t) // acme items under version 1
	f.run(t, "keys", "rotate", "--tenant", "acme").ok(t, "rotate")
	f.write(t, &record{Tenant: "acme", ID: "v2", Name: "n", Email: "e", Plan: "p", Tags: []string{"t"}})
	f.run(t, "keys", "retire", "--tenant", "acme", "--below", "2", "--yes").ok(t, "retire")
	ctx := context.Background()
	key := map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: "acme"}, "id": &types.AttributeValueMemberS{Value: "v2"}}
	got, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	h := slices.Clone(got.Item["__h"].(*types.AttributeValueMemberB).Value)
	off := 2 + int(h[1]) // format version, class length, class, then the key version
	if h[off+3] != 2 {
		t.Fatalf("header does not name version 2 where expected: % x", h[:off+4])
	}
	h[off+3] = 1
	f.tamper(t, "acme", "v2", "__h", &types.AttributeValueMemberB{Value: h})
	r := f.run(t, "inspect", "--pk", "acme", "--sk", "v2", "--json")
	if in := decodeJSON[inspectJSON](t, r.stdout); r.code != exitFailed || in.Status != statusTampered || in.KeyRef.Version != 1 {
		t.Errorf("edited key version: exit %d %+v", r.code, in)
	}
	r = f.run(t, "inspect", "--pk", "acme", "--sk", "r1", "--json")
	if in := decodeJSON[inspectJSON](t, r.stdout); r.code != exitFailed || in.Status != statusUnverifiable || !strings.Contains(in.Error, "retired") {
		t.Errorf("item under the retired version: exit %d %+v", r.code, in)
	}
}
