package attrcrypt

import (
	"errors"
	"testing"
)

// TestDescribe checks that Describe pairs every covered attribute with the
// action it was sealed with, lists the plain names, and reports an added
// attribute as tampered while still giving the key reference.
func TestDescribe(t *testing.T) {
	actions := map[string]Action{"name": ActionEncrypt, "ssn": ActionEncrypt, "seen": ActionPlain}
	s, err := NewSealer(Config{Table: refTable, TenantAttribute: "tenant", Actions: actions})
	if err != nil {
		t.Fatal(err)
	}
	key := testKey(refTenant, "", 3)
	item := refItem()
	item["seen"] = N("17")
	stored, err := s.Seal(item, key)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Describe(stored)
	if err != nil {
		t.Fatal(err)
	}
	if info.FormatVersion != FormatVersion || info.Ref != key.Ref {
		t.Errorf("version %d ref %v, want %d %v", info.FormatVersion, info.Ref, FormatVersion, key.Ref)
	}
	if len(info.Plain) != 1 || info.Plain[0] != "seen" {
		t.Errorf("plain %v, want [seen]", info.Plain)
	}
	want := []string{"created", "email", "id", "name", "notes", "plan", "score", "ssn", "tags", "tenant"}
	if len(info.Covered) != len(want) {
		t.Fatalf("covered %v, want %v", info.Covered, want)
	}
	for i, c := range info.Covered {
		wantAct := ActionSign
		if c.Name == "name" || c.Name == "ssn" {
			wantAct = ActionEncrypt
		}
		if c.Name != want[i] || c.Action != wantAct {
			t.Errorf("covered[%d] = %s %s, want %s %s", i, c.Name, c.Action, want[i], wantAct)
		}
	}

	// A reader with other actions sees what was recorded, not its own.
	other, err := NewSealer(Config{Table: refTable, TenantAttribute: "tenant"})
	if err != nil {
		t.Fatal(err)
	}
	info2, err := other.Describe(stored)
	if err != nil || len(info2.Covered) != len(want) || info2.Covered[3].Action != ActionEncrypt {
		t.Errorf("describe under another config: %v %v", info2.Covered, err)
	}

	added := cloneItem(stored)
	added["extra"] = S("x")
	info3, err := s.Describe(added)
	var te *TamperError
	if !errors.As(err, &te) || te.Reason != ReasonAttributeSet {
		t.Fatalf("added attribute: %v, want attribute-set tamper", err)
	}
	if info3.Ref != key.Ref || info3.Covered != nil {
		t.Errorf("added attribute: info %+v", info3)
	}

	noHeader := cloneItem(stored)
	delete(noHeader, HeaderAttribute)
	if _, err := s.Describe(noHeader); !errors.Is(err, ErrTampered) {
		t.Errorf("no header: %v, want ErrTampered", err)
	}
}
