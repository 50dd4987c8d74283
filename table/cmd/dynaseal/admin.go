package main

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
)

// keysSchema builds the schema of the table's items from what DescribeTable
// and --tenant-attr say: the key attributes, the tenant attribute and the
// tenant index's keys, everything else signed. The jobs that work from the
// actions recorded in each item's header (re-encrypt, purge; sweep's
// verification) need nothing more. The schema is built by reflection over
// a struct type made at run time, so it goes through the same parser as an
// application's own struct.
//
// encrypt and plain name further attributes with those actions (migrate
// seals with them); a name may not be a key or the tenant attribute.
func (d *dataTable) keysSchema(encrypt, plain []string) (*schema.Schema, error) {
	type attr struct {
		name string
		typ  types.ScalarAttributeType // "" for a non-key attribute
		seal []string
		omit bool
	}
	attrs := []attr{{name: d.pk, typ: d.pkType, seal: []string{"pk"}}}
	if d.sk != "" {
		attrs = append(attrs, attr{name: d.sk, typ: d.skType, seal: []string{"sk"}})
	}
	switch d.tenantAttr {
	case d.pk:
		attrs[0].seal = append(attrs[0].seal, "tenant")
	case d.sk:
		attrs[1].seal = append(attrs[1].seal, "tenant")
	default:
		// Only an index key (which must be omitempty) when it is not a
		// table key.
		attrs = append(attrs, attr{name: d.tenantAttr, typ: types.ScalarAttributeTypeS, seal: []string{"tenant"}, omit: true})
	}
	if d.tenantIndexSK != "" && d.tenantIndexSK != d.pk && d.tenantIndexSK != d.sk && d.tenantIndexSK != d.tenantAttr {
		attrs = append(attrs, attr{name: d.tenantIndexSK, typ: d.tenantIndexTyp, omit: true})
	}
	keys := map[string]bool{}
	for _, a := range attrs {
		keys[a.name] = true
	}
	for _, l := range []struct {
		names  []string
		action string
	}{{encrypt, "encrypt"}, {plain, "plain"}} {
		for _, n := range l.names {
			if keys[n] {
				return nil, usagef("attribute %s is a key or the tenant attribute, or listed twice: it cannot be --%s", n, l.action)
			}
			keys[n] = true
			attrs = append(attrs, attr{name: n, seal: []string{l.action}, omit: true})
		}
	}
	fields := make([]reflect.StructField, len(attrs))
	for i, a := range attrs {
		if strings.ContainsAny(a.name, ",\"`") {
			return nil, fmt.Errorf("%w: attribute name %q cannot be described without a schema file", errUsage, a.name)
		}
		var t reflect.Type
		switch a.typ {
		case types.ScalarAttributeTypeS:
			t = reflect.TypeFor[string]()
		case types.ScalarAttributeTypeN:
			t = reflect.TypeFor[float64]()
		case types.ScalarAttributeTypeB:
			t = reflect.TypeFor[[]byte]()
		case "":
			t = reflect.TypeFor[any]()
		default:
			return nil, fmt.Errorf("key attribute %s has an unknown type %q", a.name, a.typ)
		}
		tag := a.name
		if a.omit {
			tag += ",omitempty"
		}
		st := `dynamodbav:` + strconv.Quote(tag)
		if len(a.seal) > 0 {
			st += ` seal:` + strconv.Quote(strings.Join(a.seal, ","))
		}
		fields[i] = reflect.StructField{Name: "F" + strconv.Itoa(i), Type: t, Tag: reflect.StructTag(st)}
	}
	s, err := schema.FromReflect(reflect.StructOf(fields))
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", d.name, err)
	}
	return s, nil
}

// admin returns the untyped admin handle the jobs run on.
func (c *cli) admin(ctx context.Context, d *dataTable, encrypt, plain []string) (*table.Admin, error) {
	keys, err := c.keys(ctx)
	if err != nil {
		return nil, err
	}
	s, err := d.keysSchema(encrypt, plain)
	if err != nil {
		return nil, err
	}
	opts := []table.Option{table.WithLogicalName(d.logical), table.WithKeyClass(c.g.class)}
	if d.tenantIndex != "" {
		ix := table.Index{Name: d.tenantIndex, PartitionKey: d.tenantAttr, SortKey: d.tenantIndexSK, Projection: types.ProjectionTypeKeysOnly}
		if d.projection != nil {
			ix.Projection = d.projection.ProjectionType
			ix.Include = d.projection.NonKeyAttributes
		}
		opts = append(opts, table.WithIndex(ix))
	}
	return table.NewAdmin(d.db, d.name, keys, s, opts...)
}
