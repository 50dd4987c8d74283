package redacttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/dynaseal/dynaseal/codegen/genrt"
	"github.com/dynaseal/dynaseal/table"
)

// markers are in every encrypted field of record(); none may be printed.
var markers = []string{"MARKER", "987654321", "31.5"}

func record() Record {
	return Record{
		Tenant: "acme", ID: "r-1",
		Name: "MARKER-name", Salary: 987654321,
		Home:   Address{Street: "MARKER-street", City: "MARKER-city"},
		Scores: map[string]float64{"MARKER-key": 31.5},
		Tags:   []string{"MARKER-tag"},
		Hidden: "MARKER-hidden",
		Audit:  &Audit{Note: "MARKER-note", By: "visible-author"},
		Info:   Info{Diagnosis: "MARKER-diagnosis", Code: "c-7"},
		Plan:   "visible-plan", Version: 3,
	}
}

// holder is a struct of the application's holding a Record.
type holder struct {
	Rec  Record
	Ptr  *Record
	Recs []Record
}

// containers returns the record inside every container the issue names.
func containers() map[string]any {
	r := record()
	r2 := record()
	return map[string]any{
		"value":   r,
		"pointer": &r,
		"slice":   []Record{r},
		"ptrs":    []*Record{&r, &r2},
		"map":     map[string]Record{"k": r},
		"ptrmap":  map[string]*Record{"k": &r},
		"page":    table.Page[Record]{Items: []*Record{&r, &r2}, Cursor: "c"},
		"pagePtr": &table.Page[Record]{Items: []*Record{&r}},
		"holder":  holder{Rec: r, Ptr: &r2, Recs: []Record{r}},
		"nested":  map[string][]*Record{"k": {&r}},
	}
}

func assertRedacted(t *testing.T, what, out string) {
	t.Helper()
	for _, m := range markers {
		if strings.Contains(out, m) {
			t.Errorf("%s prints the encrypted value %q:\n%s", what, m, out)
		}
	}
	if !strings.Contains(out, "[REDACTED]") {
		t.Errorf("%s prints no [REDACTED] marker:\n%s", what, out)
	}
	if !strings.Contains(out, "visible-plan") {
		t.Errorf("%s lost the plaintext attribute plan:\n%s", what, out)
	}
}

func TestSlogRedactsInContainers(t *testing.T) {
	for name, v := range containers() {
		for _, h := range []struct {
			name string
			new  func(*bytes.Buffer) slog.Handler
		}{
			{"JSONHandler", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
			{"TextHandler", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		} {
			var buf bytes.Buffer
			slog.New(h.new(&buf)).Info("msg", "v", v)
			assertRedacted(t, h.name+" "+name, buf.String())
		}
	}
}

func TestJSONRedactsInContainers(t *testing.T) {
	for name, v := range containers() {
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assertRedacted(t, "json "+name, string(out))
	}
}

func TestFmtRedactsInContainers(t *testing.T) {
	for name, v := range containers() {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			assertRedacted(t, "fmt "+verb+" "+name, fmt.Sprintf(verb, v))
		}
	}
	r := record()
	assertRedacted(t, "String", fmt.Sprint(r))
}

// The redacted JSON is encoding/json's output of the struct (the keys its
// json tags, embedding and options give) with only the encrypted values
// replaced: the same keys as the revealed record, the same plaintext values.
func TestJSONKeepsJSONShape(t *testing.T) {
	r := record()
	var redacted, revealed map[string]any
	for _, c := range []struct {
		v   any
		out *map[string]any
	}{{r, &redacted}, {r.Reveal(), &revealed}} {
		b, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, c.out); err != nil {
			t.Fatal(err)
		}
	}
	if len(redacted) != len(revealed) {
		t.Fatalf("keys differ:\nredacted %v\nrevealed %v", redacted, revealed)
	}
	encrypted := map[string]bool{"name": true, "Salary": true, "Home": true, "scores": true, "Tags": true, "note": false, "Note": true, "info": true}
	for k, want := range revealed {
		got, ok := redacted[k]
		switch {
		case !ok:
			t.Errorf("key %q missing from the redacted JSON", k)
		case encrypted[k]:
			if got != "[REDACTED]" {
				t.Errorf("%s = %v, want [REDACTED]", k, got)
			}
		case !reflect.DeepEqual(got, want):
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if _, ok := revealed["Note"]; !ok {
		t.Errorf("the revealed JSON lacks the flattened Audit.Note: %v", revealed)
	}
}

// Reveal is the explicit way to hand decrypted values out: it prints them.
func TestRevealPrintsEverything(t *testing.T) {
	r := record()
	b, err := json.Marshal(r.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{string(b), fmt.Sprintf("%+v", r.Reveal())} {
		if !strings.Contains(out, "MARKER-name") || strings.Contains(out, "[REDACTED]") {
			t.Errorf("Reveal does not print the decrypted values: %s", out)
		}
	}
}

// A nil embedded pointer is printed as json prints it (its fields absent).
func TestJSONNilEmbeddedPointer(t *testing.T) {
	r := record()
	r.Audit = nil
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(r.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	var got, exp map[string]any
	_ = json.Unmarshal(b, &got)
	_ = json.Unmarshal(want, &exp)
	if _, ok := got["Note"]; ok || len(got) != len(exp) {
		t.Errorf("nil *Audit: %s\nwant the keys of %s", b, want)
	}
}

// JSON written by MarshalJSON lost the encrypted values; decoding it back
// into Record (a JSON cache, a queue) must fail, never yield an item whose
// encrypted fields hold the marker. JSON of Reveal decodes as before.
func TestJSONRoundTripRefusesRedacted(t *testing.T) {
	r := record()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err == nil {
		t.Fatalf("redacted JSON decoded without error: %+v", back.Reveal())
	}
	for doc, field := range map[string]string{
		`{"tenant":"acme","name":"[REDACTED]"}`:               "Record.Name",
		`{"tenant":"acme","Note":"[REDACTED]"}`:               "Record.Note",
		`[{"tenant":"acme","Tags":null,"name":"[REDACTED]"}]`: "Record.Name",
	} {
		var err error
		if strings.HasPrefix(doc, "[") {
			var rs []Record
			err = json.Unmarshal([]byte(doc), &rs)
		} else {
			var x Record
			err = json.Unmarshal([]byte(doc), &x)
		}
		if !errors.Is(err, genrt.ErrRedacted) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v, want genrt.ErrRedacted naming %s", doc, err, field)
		}
	}
	plain, err := json.Marshal(r.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	var got Record
	if err := json.Unmarshal(plain, &got); err != nil {
		t.Fatalf("revealed JSON: %v", err)
	}
	want := r
	want.Hidden = "" // json:"-"
	if !reflect.DeepEqual(got.Reveal(), want.Reveal()) {
		t.Fatalf("revealed JSON round trip:\n got %+v\nwant %+v", got.Reveal(), want.Reveal())
	}
}
