package schema

import (
	"fmt"
	"slices"
	"strings"
)

// collisions returns the problems of one attribute name claimed by more
// than one field (group, sorted shallowest first, as visible sorts it).
// attributevalue resolves such a name as encoding/json does: the shallowest
// field wins, and among fields at that depth the single tagged one; when
// that leaves no single field, it stores none of them. dynaseal refuses
// every case where a field would be silently lost:
//
//   - no winner: every field claiming the name is dropped;
//   - a winner, but a losing field is not hidden in Go: Go's selector
//     v.Name (Name the losing field's Go name) reaches the losing field
//     itself or is ambiguous, so code writing the field writes a value
//     that is never stored.
//
// It accepts the deliberate override, where the losing field is hidden in
// Go as well (an outer Name hiding an embedded struct's Name), unless the
// hidden field carries a seal tag, which would then have no effect.
func collisions(typeName string, root TypeInfo, group []walkField, winner walkField, ok bool) []error {
	if !ok {
		var names []string
		for _, f := range group {
			if n := goPath(f); !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		reason := fmt.Sprintf("attribute %q is claimed by fields %s at the same embedding depth, so attributevalue stores none of them; rename all but one in their dynamodbav tags or skip them with dynamodbav:\"-\"", group[0].name, strings.Join(names, ", "))
		if len(names) == 1 {
			reason = fmt.Sprintf("attribute %q is reached through more than one embedded struct at the same depth, so attributevalue does not store it; embed the struct once or tag the field dynamodbav:\"-\"", group[0].name)
		}
		return []error{&Error{Type: typeName, Field: names[0], Pos: group[0].field.Pos, Reason: reason}}
	}
	var problems []error
	for _, f := range group {
		if slices.Equal(f.index(), winner.index()) {
			continue
		}
		why := "it is shallower"
		if len(f.path) == len(winner.path) {
			why = "it is tagged and this field is not"
		}
		sel, found := goSelect(root, f.field.Name, len(f.path))
		switch {
		case !found || slices.Equal(sel, f.index()):
			problems = append(problems, &Error{Type: typeName, Field: goPath(f), Pos: f.field.Pos, Reason: fmt.Sprintf(
				"would be silently lost: attribute %q is also claimed by %s, which attributevalue stores instead (%s); rename one in its dynamodbav tag or skip this one with dynamodbav:\"-\"",
				f.name, goPath(winner), why)})
		case f.hasSeal:
			problems = append(problems, &Error{Type: typeName, Field: goPath(f), Pos: f.field.Pos, Reason: fmt.Sprintf(
				"seal tag has no effect: the field is hidden by %s, which attributevalue stores as attribute %q instead", goPath(winner), f.name)})
		}
	}
	return problems
}

// goSelect returns the index path of the field Go's selector x.name reaches
// in a value of struct type root (the shallowest field of that name, when
// it is the only one at its depth), looking no deeper than maxDepth.
func goSelect(root TypeInfo, name string, maxDepth int) ([]int, bool) {
	type node struct {
		t     TypeInfo
		index []int
	}
	level := []node{{t: root}}
	for depth := 1; depth <= maxDepth && len(level) > 0; depth++ {
		var found [][]int
		var next []node
		for _, n := range level {
			for i := 0; i < n.t.NumField(); i++ {
				f := n.t.Field(i)
				index := append(slices.Clip(n.index), i)
				if f.Name == name {
					found = append(found, index)
				}
				if !f.Anonymous {
					continue
				}
				ft := f.Type
				if !ft.Named() && ft.Kind() == KindPointer {
					ft = ft.Elem()
				}
				if ft.Kind() == KindStruct {
					next = append(next, node{t: ft, index: index})
				}
			}
		}
		if len(found) == 1 {
			return found[0], true
		}
		if len(found) > 1 {
			return nil, false
		}
		level = next
	}
	return nil, false
}

// goPath spells a field's Go path from the root: Inner.Name.
func goPath(f walkField) string {
	names := make([]string, len(f.path))
	for i, s := range f.path {
		names[i] = s.Name
	}
	return strings.Join(names, ".")
}

// sealOptionMeaning says what each seal option would have done, for the
// error on a seal option written in the dynamodbav tag.
var sealOptionMeaning = map[string]string{
	"encrypt": "encrypted", "sign": "signed", "plain": "left unsigned",
	"pk": "the partition key", "sk": "the sort key", "tenant": "the tenant attribute", "version": "the version attribute",
}

// sealOptionIn returns the first option of a dynamodbav tag that is a seal
// option (encrypt, pk, ...), or "".
func sealOptionIn(dynamoTag string) string {
	opts := strings.Split(dynamoTag, ",")[1:]
	for _, o := range opts {
		if _, ok := sealOptionMeaning[strings.TrimSpace(o)]; ok {
			return strings.TrimSpace(o)
		}
	}
	return ""
}

// dynamoOptions are the options of the dynamodbav tag, for the hint on one
// written in the seal tag.
var dynamoOptions = map[string]bool{
	"omitempty": true, "omitemptyelem": true, "nullempty": true, "nullemptyelem": true,
	"string": true, "stringset": true, "numberset": true, "binaryset": true, "unixtime": true,
}

// unstorable is the reason attributevalue silently drops values of kind
// KindOther.
const unstorable = "is not stored by attributevalue (it would be silently dropped); tag the field dynamodbav:\"-\" to leave it out"

// checkTypes returns the problems of an attribute's Go type: a type
// attributevalue never stores (chan, func, complex, unsafe.Pointer,
// uintptr), at the top or anywhere inside (an element, a map value, a field
// of a nested struct), and fields of nested structs lost to a name
// collision. Types with their own MarshalDynamoDBAttributeValue and
// interfaces (known only at run time) are trusted. seen holds the nested
// types already checked, so each is reported once.
func checkTypes(typeName string, a Attribute, seen map[any]bool) []error {
	return checkType(a.Type, func(bad string) error {
		return &Error{Type: typeName, Field: a.Field, Pos: a.Pos, Reason: unstorableReason(a.Type, bad)}
	}, seen)
}

// unstorableReason says that declared (a field's type) is or holds the
// type bad, which attributevalue drops.
func unstorableReason(declared TypeInfo, bad string) string {
	if declared.String() == bad {
		return "type " + bad + " " + unstorable
	}
	return "type " + declared.String() + " holds " + bad + ", which " + unstorable
}

// checkType calls fail with the offending type for every type inside t
// that attributevalue drops, and reports lost fields of nested structs.
func checkType(t TypeInfo, fail func(bad string) error, seen map[any]bool) []error {
	if m, ok := t.(interface{ IsMarshaler() bool }); ok && m.IsMarshaler() {
		return nil
	}
	switch t.Kind() {
	case KindOther:
		return []error{fail(t.String())}
	case KindPointer, KindSlice, KindArray, KindMap:
		return checkType(t.Elem(), fail, seen)
	case KindStruct:
		if t.IsTime() || seen[t.ID()] {
			return nil
		}
		seen[t.ID()] = true
		name := shortName(t)
		fields, problems := walk(name, t, true)
		for _, f := range fields {
			fi := f.field
			problems = append(problems, checkType(fi.Type, func(bad string) error {
				return &Error{Type: name, Field: goPath(f), Pos: fi.Pos, Reason: unstorableReason(fi.Type, bad)}
			}, seen)...)
		}
		return problems
	}
	return nil
}

// shortName is a struct type's name without its package path, or its
// literal for an unnamed struct.
func shortName(t TypeInfo) string {
	s := t.String()
	if !t.Named() {
		return s
	}
	if i := strings.LastIndexAny(s, "./"); i >= 0 && !strings.ContainsAny(s, "[ ") {
		return s[i+1:]
	}
	return s
}
