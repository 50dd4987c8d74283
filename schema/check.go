package schema

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// collisions returns the problems of one attribute name claimed by more
// than one field (group, sorted shallowest first, as visible sorts it).
// attributevalue resolves such a name as encoding/json does: the shallowest
// field wins, and among fields at that depth the single tagged one; when
// that leaves no single field (ok false), it stores none of them. A field
// that is not stored is silently lost, and refused, unless Go hides it as
// well: Go's selector v.Name (Name its Go name) reaches another field, as
// in the deliberate override of an embedded struct's field by an outer one
// of the same name. When Go reaches the lost field itself, or the selector
// is ambiguous, code writing the field writes a value never stored. A
// hidden field is still refused when it carries a seal tag, which would
// have no effect.
func collisions(typeName string, root TypeInfo, group []walkField, winner walkField, ok bool) []error {
	var problems []error
	var lost []walkField
	for i, f := range group {
		if (ok && slices.Equal(f.index(), winner.index())) || (i > 0 && slices.Equal(f.index(), group[i-1].index())) {
			continue
		}
		sel, found := goSelect(root, f.field.Name, len(f.path))
		switch {
		case !found || slices.Equal(sel, f.index()):
			lost = append(lost, f)
		case f.hasSeal:
			by := "a field of the same Go name"
			if ok {
				by = goPath(winner) + ", which attributevalue stores as attribute " + strconv.Quote(f.name) + " instead"
			}
			problems = append(problems, &Error{Type: typeName, Field: goPath(f), Pos: f.field.Pos, Reason: "seal tag has no effect: the field is hidden by " + by})
		}
	}
	if len(lost) == 0 {
		return problems
	}
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
		return append(problems, &Error{Type: typeName, Field: goPath(lost[0]), Pos: lost[0].field.Pos, Reason: reason})
	}
	for _, f := range lost {
		why := "it is shallower"
		if len(f.path) == len(winner.path) {
			why = "it is tagged and this field is not"
		}
		problems = append(problems, &Error{Type: typeName, Field: goPath(f), Pos: f.field.Pos, Reason: fmt.Sprintf(
			"would be silently lost: attribute %q is also claimed by %s, which attributevalue stores instead (%s); rename one in its dynamodbav tag or skip this one with dynamodbav:\"-\"",
			f.name, goPath(winner), why)})
	}
	return problems
}

// repeatedEmbedding returns the problems of a struct type t embedded at
// path, deeper than where the walk already read it: attributevalue skips
// it, so each of its fields is lost unless Go hides it as well (v.Name
// reaches the shallower copy, the usual case).
func repeatedEmbedding(typeName string, root TypeInfo, t TypeInfo, path []Step) []error {
	var problems []error
	var visit func(t TypeInfo, path []Step, seen map[any]bool)
	visit = func(t TypeInfo, path []Step, seen map[any]bool) {
		if seen[t.ID()] {
			return
		}
		seen[t.ID()] = true
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			dt := ParseDynamoTag(sf.Tag.Get(DynamoTagKey))
			if dt.Ignore || (!sf.Exported && !sf.Anonymous) {
				continue
			}
			p := append(slices.Clip(path), Step{Name: sf.Name, Index: i})
			ft := sf.Type
			if !ft.Named() && ft.Kind() == KindPointer {
				ft = ft.Elem()
			}
			if sf.Anonymous && dt.Name == "" && ft.Kind() == KindStruct {
				visit(ft, p, seen)
				continue
			}
			f := walkField{path: p, field: sf}
			sel, found := goSelect(root, sf.Name, len(p))
			if !found || slices.Equal(sel, f.index()) {
				problems = append(problems, &Error{Type: typeName, Field: goPath(f), Pos: sf.Pos, Reason: fmt.Sprintf(
					"would be silently lost: its struct %s is embedded again at a shallower depth, and attributevalue reads an embedded struct type only once, there; embed it once or tag this field dynamodbav:\"-\"", shortName(t))})
			}
		}
	}
	visit(t, path, map[any]bool{})
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
