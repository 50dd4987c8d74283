package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table"
)

// itemSchema is the schema the jobs run with: the --schema file (a
// schema.Spec in JSON, the form ParseSpec reads) when given, checked
// against the table's keys, and otherwise one made from what DescribeTable
// and --tenant-attr say, with every attribute signed except those --encrypt
// and --plain name. Re-encrypt, purge and sweep's verification work from
// the actions each item's header records and need nothing more; migrate
// seals with the schema's actions, and sweep compares items with them.
func (c *cli) itemSchema(d *dataTable, jf *jobFlags) (*schema.Schema, error) {
	encrypt, plain := jf.encrypt, jf.plain
	if jf.schemaFile != "" {
		if len(encrypt) > 0 || len(plain) > 0 {
			return nil, usagef("give the actions either in --schema or with --encrypt/--plain, not both")
		}
		b, err := os.ReadFile(jf.schemaFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --schema: %v", errUsage, err)
		}
		s, err := schema.ParseSpec(b)
		if err != nil {
			return nil, fmt.Errorf("%w: --schema %s: %v", errUsage, jf.schemaFile, err)
		}
		if s.PartitionKey != d.pk || s.SortKey != d.sk || s.Tenant != d.tenantAttr {
			return nil, usagef("--schema %s names partition key %q, sort key %q, tenant %q; table %s has %q, %q and --tenant-attr %q",
				jf.schemaFile, s.PartitionKey, s.SortKey, s.Tenant, d.name, d.pk, d.sk, d.tenantAttr)
		}
		return s, nil
	}
	sp := schema.Spec{
		Type: d.name, PartitionKey: d.pk, SortKey: d.sk, Tenant: d.tenantAttr,
		KeyTypes: map[string]string{d.pk: string(d.pkType)}, Attributes: map[string]string{},
	}
	if d.sk != "" {
		sp.KeyTypes[d.sk] = string(d.skType)
	}
	for _, l := range []struct {
		names  []string
		action string
	}{{encrypt, "encrypt"}, {plain, "plain"}} {
		for _, n := range l.names {
			if _, dup := sp.Attributes[n]; dup {
				return nil, usagef("attribute %s is listed twice in --encrypt and --plain", n)
			}
			sp.Attributes[n] = l.action
		}
	}
	s, err := schema.FromSpec(sp)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return s, nil
}

// admin returns the untyped admin handle the jobs run on.
func (c *cli) admin(ctx context.Context, d *dataTable, jf *jobFlags) (*table.Admin, error) {
	keys, err := c.keys(ctx)
	if err != nil {
		return nil, err
	}
	s, err := c.itemSchema(d, jf)
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
