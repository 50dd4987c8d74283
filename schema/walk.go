package schema

import (
	"errors"
	"fmt"
	"sort"
)

// walkField is one candidate attribute found by the walk, before the
// embedding dominance rules pick the visible ones.
type walkField struct {
	name        string
	nameFromTag bool
	dynamo      DynamoTag
	sealRaw     string
	hasSeal     bool
	path        []Step
	field       FieldInfo
	// decl marks a blank field (_) whose seal tag declares a compound
	// beacon or an index of the type; it is not an attribute.
	decl bool
}

func (w walkField) index() []int {
	idx := make([]int, len(w.path))
	for i, s := range w.path {
		idx[i] = s.Index
	}
	return idx
}

// walk enumerates the attributes of root exactly as attributevalue does
// (encoding/json's rules: breadth first through embedded structs, then the
// shallowest, tagged field wins a name; ties at one depth drop the name). It
// also returns problems attributevalue would pass over silently but that
// dynaseal refuses: fields lost to a name collision (see collisions) and,
// for an item type (nested false), tags on fields that will never be stored
// and seal options written in the dynamodbav tag.
func walk(typeName string, root TypeInfo, nested bool) ([]walkField, []error) {
	var problems []error
	type queued struct {
		t    TypeInfo
		path []Step
	}
	var fields, decls []walkField
	current := []queued{}
	next := []queued{{t: root}}
	var count map[any]int
	nextCount := map[any]int{}
	visited := map[any]bool{}

	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[any]int{}
		for _, q := range current {
			if visited[q.t.ID()] {
				// attributevalue reads an embedded type once, at its
				// shallowest depth; this deeper copy's fields are dropped.
				problems = append(problems, repeatedEmbedding(typeName, root, q.t, q.path)...)
				continue
			}
			visited[q.t.ID()] = true
			for i := 0; i < q.t.NumField(); i++ {
				sf := q.t.Field(i)
				sealRaw, hasSeal := sf.Tag.Lookup(SealTagKey)
				dynamoRaw, hasDynamo := sf.Tag.Lookup(DynamoTagKey)
				if nested {
					hasSeal, hasDynamo = false, false
				}
				if sf.Name == "_" && hasSeal && !hasDynamo && len(q.path) == 0 && !nested {
					// A blank field's seal tag declares something about the
					// whole type (a compound beacon, an index).
					decls = append(decls, walkField{name: "_", sealRaw: sealRaw, hasSeal: true, field: sf, decl: true})
					continue
				}
				if !sf.Exported && !sf.Anonymous {
					if hasSeal || hasDynamo {
						problems = append(problems, fieldError(typeName, sf, "field is unexported, so it is never stored; export it or remove its tags"))
					}
					continue
				}
				dt := ParseDynamoTag(dynamoRaw)
				if dt.Ignore {
					if hasSeal {
						problems = append(problems, fieldError(typeName, sf, `seal tag on a field skipped with dynamodbav:"-"`))
					}
					continue
				}
				if hasDynamo {
					if opt := sealOptionIn(dynamoRaw); opt != "" {
						problems = append(problems, fieldError(typeName, sf, fmt.Sprintf(`option %q in the dynamodbav tag %q belongs in the seal tag (seal:%q): attributevalue ignores it, so the field would not be %s`, opt, dynamoRaw, opt, sealOptionMeaning[opt])))
					}
				}
				ft := sf.Type
				pointer := false
				if !ft.Named() && ft.Kind() == KindPointer {
					ft = ft.Elem()
					pointer = true
				}
				path := make([]Step, len(q.path)+1)
				copy(path, q.path)
				path[len(q.path)] = Step{Name: sf.Name, Index: i, Pointer: pointer && ft.Kind() == KindStruct}
				wf := walkField{name: sf.Name, dynamo: dt, sealRaw: sealRaw, hasSeal: hasSeal, path: path, field: sf}
				if dt.Name != "" {
					wf.name, wf.nameFromTag = dt.Name, true
				}
				if !sf.Anonymous || dt.Name != "" || ft.Kind() != KindStruct {
					if !sf.Exported {
						// An unexported embedded non-struct: attributevalue
						// would try to read it and fail; refuse it clearly.
						if !nested {
							problems = append(problems, fieldError(typeName, sf, "embedded field is unexported and not a struct, so it cannot be stored"))
						}
						continue
					}
					fields = append(fields, wf)
					if count[q.t.ID()] > 1 {
						fields = append(fields, wf)
					}
					continue
				}
				if hasSeal {
					problems = append(problems, fieldError(typeName, sf, "seal tag on an embedded struct whose fields are flattened into the item; tag its fields instead"))
				}
				nextCount[ft.ID()]++
				if nextCount[ft.ID()] == 1 {
					next = append(next, queued{t: ft, path: path})
				}
			}
		}
	}
	out, lost := visible(typeName, root, fields)
	return append(out, decls...), append(problems, lost...)
}

// visible applies the dominance rules and returns fields in index order,
// with the problems of the names claimed by more than one field.
func visible(typeName string, root TypeInfo, fields []walkField) ([]walkField, []error) {
	var problems []error
	sort.SliceStable(fields, func(i, j int) bool {
		a, b := fields[i], fields[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if len(a.path) != len(b.path) {
			return len(a.path) < len(b.path)
		}
		if a.nameFromTag != b.nameFromTag {
			return a.nameFromTag
		}
		return indexLess(a.index(), b.index())
	})
	out := fields[:0:0]
	for i, advance := 0, 0; i < len(fields); i += advance {
		name := fields[i].name
		for advance = 1; i+advance < len(fields) && fields[i+advance].name == name; advance++ {
		}
		if advance == 1 {
			out = append(out, fields[i])
			continue
		}
		d, ok := dominant(fields[i : i+advance])
		if ok {
			out = append(out, d)
		}
		problems = append(problems, collisions(typeName, root, fields[i:i+advance], d, ok)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return indexLess(out[i].index(), out[j].index()) })
	return out, problems
}

func dominant(fields []walkField) (walkField, bool) {
	depth := len(fields[0].path)
	tagged := -1
	for i, f := range fields {
		if len(f.path) > depth {
			fields = fields[:i]
			break
		}
		if f.nameFromTag {
			if tagged >= 0 {
				return walkField{}, false
			}
			tagged = i
		}
	}
	if tagged >= 0 {
		return fields[tagged], true
	}
	if len(fields) > 1 {
		return walkField{}, false
	}
	return fields[0], true
}

func indexLess(a, b []int) bool {
	for k, x := range a {
		if k >= len(b) {
			return false
		}
		if x != b[k] {
			return x < b[k]
		}
	}
	return len(a) < len(b)
}

// ErrInvalid is wrapped by every error that reports a struct dynaseal cannot
// use; errors.As with *Error gives the type, field, position and reason.
var ErrInvalid = errors.New("schema: invalid struct")

// Error reports one problem with one field (or the type as a whole, when
// Field is empty).
type Error struct {
	Type   string
	Field  string
	Pos    string
	Reason string
}

func (e *Error) Error() string {
	prefix := ""
	if e.Pos != "" {
		prefix = e.Pos + ": "
	}
	if e.Field == "" {
		return prefix + "schema: type " + e.Type + ": " + e.Reason
	}
	return prefix + "schema: " + e.Type + "." + e.Field + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *Error) Unwrap() error { return ErrInvalid }

func fieldError(typeName string, f FieldInfo, reason string) error {
	return &Error{Type: typeName, Field: f.Name, Pos: f.Pos, Reason: reason}
}
