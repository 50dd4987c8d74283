package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// dataTable is a data table as the command sees it without the
// application's Go types: its key schema from DescribeTable, the tenant
// attribute from --tenant-attr, and a Sealer that works from the actions
// each item's header records.
type dataTable struct {
	name       string
	db         *dynamodb.Client
	pk, sk     string
	pkType     types.ScalarAttributeType
	skType     types.ScalarAttributeType
	tenantAttr string
	// tenantIndex is a global secondary index whose partition key is the
	// tenant attribute ("" if none), and tenantIndexAll whether it
	// projects whole items.
	tenantIndex    string
	tenantIndexAll bool
	tenantIndexSK  string
	tenantIndexTyp types.ScalarAttributeType // of tenantIndexSK
	projection     *types.Projection
	logical        string
	sealer         *attrcrypt.Sealer
	// itemCount is DynamoDB's approximate item count (updated about every
	// six hours), for the progress bar's estimate.
	itemCount int64
}

// dataTable describes --table.
func (c *cli) dataTable(ctx context.Context) (*dataTable, error) {
	if c.g.table == "" {
		return nil, usagef("--table is required")
	}
	if c.g.tenantAttr == "" {
		return nil, usagef("--tenant-attr is required")
	}
	db, err := c.dynamo(ctx)
	if err != nil {
		return nil, err
	}
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(c.g.table)})
	if err != nil {
		return nil, newAWSError("DescribeTable "+c.g.table, err)
	}
	d := &dataTable{name: c.g.table, db: db, tenantAttr: c.g.tenantAttr, itemCount: aws.ToInt64(out.Table.ItemCount)}
	types_ := map[string]types.ScalarAttributeType{}
	for _, a := range out.Table.AttributeDefinitions {
		types_[aws.ToString(a.AttributeName)] = a.AttributeType
	}
	for _, k := range out.Table.KeySchema {
		switch k.KeyType {
		case types.KeyTypeHash:
			d.pk = aws.ToString(k.AttributeName)
		case types.KeyTypeRange:
			d.sk = aws.ToString(k.AttributeName)
		}
	}
	d.pkType, d.skType = types_[d.pk], types_[d.sk]
	for _, gsi := range out.Table.GlobalSecondaryIndexes {
		if len(gsi.KeySchema) > 0 && gsi.KeySchema[0].KeyType == types.KeyTypeHash &&
			aws.ToString(gsi.KeySchema[0].AttributeName) == d.tenantAttr && types_[d.tenantAttr] == types.ScalarAttributeTypeS {
			d.tenantIndex = aws.ToString(gsi.IndexName)
			d.tenantIndexAll = gsi.Projection != nil && gsi.Projection.ProjectionType == types.ProjectionTypeAll
			d.projection = gsi.Projection
			if len(gsi.KeySchema) > 1 {
				d.tenantIndexSK = aws.ToString(gsi.KeySchema[1].AttributeName)
				d.tenantIndexTyp = types_[d.tenantIndexSK]
			}
			break
		}
	}
	logical := c.g.logicalName
	if logical == "" {
		logical = c.g.table
	}
	// Actions stay empty: every method used here works from the actions
	// recorded in each item's header.
	d.logical = logical
	d.sealer, err = attrcrypt.NewSealer(attrcrypt.Config{Table: logical, TenantAttribute: d.tenantAttr})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return d, nil
}

// keyValue parses a key attribute's value given on the command line for
// its DynamoDB type: S as is, N as a number, B as base64.
func keyValue(name string, t types.ScalarAttributeType, s string) (types.AttributeValue, error) {
	switch t {
	case types.ScalarAttributeTypeS:
		return &types.AttributeValueMemberS{Value: s}, nil
	case types.ScalarAttributeTypeN:
		n, err := attrcrypt.CanonicalNumber(s)
		if err != nil {
			return nil, usagef("key attribute %s is a number; %q is not", name, s)
		}
		return &types.AttributeValueMemberN{Value: n}, nil
	case types.ScalarAttributeTypeB:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, usagef("key attribute %s is binary: give it in base64", name)
		}
		return &types.AttributeValueMemberB{Value: b}, nil
	}
	return nil, fmt.Errorf("key attribute %s has an unknown type %q", name, t)
}

// primaryKey builds the primary key from --pk and --sk values.
func (d *dataTable) primaryKey(pk, sk string, skSet bool) (map[string]types.AttributeValue, error) {
	key := map[string]types.AttributeValue{}
	v, err := keyValue(d.pk, d.pkType, pk)
	if err != nil {
		return nil, err
	}
	key[d.pk] = v
	switch {
	case d.sk != "" && !skSet:
		return nil, usagef("table %s has a sort key (%s): give --sk", d.name, d.sk)
	case d.sk == "" && skSet:
		return nil, usagef("table %s has no sort key", d.name)
	case d.sk != "":
		if key[d.sk], err = keyValue(d.sk, d.skType, sk); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// keyString renders an item's primary key for reports: "pk=…, sk=…". Key
// attributes are signed plaintext that DynamoDB itself must read; no other
// attribute is ever printed by a report.
func (d *dataTable) keyString(item map[string]types.AttributeValue) string {
	parts := []string{d.pk + "=" + scalarString(item[d.pk])}
	if d.sk != "" {
		parts = append(parts, d.sk+"="+scalarString(item[d.sk]))
	}
	return strings.Join(parts, ", ")
}

// keyJSON is an item's primary key for JSON reports.
func (d *dataTable) keyJSON(item map[string]types.AttributeValue) map[string]any {
	m := map[string]any{d.pk: plainJSON(item[d.pk])}
	if d.sk != "" {
		m[d.sk] = plainJSON(item[d.sk])
	}
	return m
}

func scalarString(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return fmt.Sprintf("%q", v.Value)
	case *types.AttributeValueMemberN:
		return v.Value
	case *types.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(v.Value)
	case nil:
		return "(missing)"
	}
	return "(not a key type)"
}

// Verdicts of one item.
const (
	statusVerified     = "verified"
	statusTampered     = "tampered"
	statusUnverifiable = "unverifiable"
	statusWrongTenant  = "wrong-tenant"
)

// open verifies a stored item under the key its header names, with the
// actions the header records, and returns it decrypted. tenant, when not
// empty, must be the item's tenant, checked before any key is fetched. The
// returned status classifies a failure: tampered (the item's bytes, or a
// key reference its tenant never had), unverifiable (the key it names is
// shredded, retired, disabled or unavailable) or wrong-tenant.
func (d *dataTable) open(ctx context.Context, keys tenantkeys.Provider, tenant string, item map[string]types.AttributeValue, decrypt bool) (map[string]types.AttributeValue, attrcrypt.KeyRef, string, error) {
	tv, ok := item[d.tenantAttr].(*types.AttributeValueMemberS)
	if !ok || tv.Value == "" {
		return nil, attrcrypt.KeyRef{}, statusTampered, &attrcrypt.TamperError{Reason: attrcrypt.ReasonTenant, Attribute: d.tenantAttr}
	}
	if tenant != "" && tv.Value != tenant {
		return nil, attrcrypt.KeyRef{}, statusWrongTenant, fmt.Errorf("%w: the item belongs to another tenant", attrcrypt.ErrWrongTenant)
	}
	ref, err := d.sealer.KeyRef(item)
	if err != nil {
		return nil, ref, statusTampered, err
	}
	key, err := keys.Key(ctx, ref)
	if err != nil {
		// Key versions are never lost (a shred answers ErrKeyShredded), so
		// an item naming a version its tenant never had was edited, as
		// the table layer decides.
		if errors.Is(err, tenantkeys.ErrInvalidName) ||
			errors.Is(err, tenantkeys.ErrKeyNotFound) && !errors.Is(err, tenantkeys.ErrKeyShredded) {
			return nil, ref, statusTampered, fmt.Errorf("%w: the header names key %s, which its tenant never had", attrcrypt.ErrTampered, ref)
		}
		// A header edited to name a shredded, retired or disabled version
		// still commits to the key it was sealed with: if that is the
		// tenant's current key, the item was edited, as the table layer
		// decides (which also probes older live versions).
		if errors.Is(err, tenantkeys.ErrKeyShredded) || errors.Is(err, tenantkeys.ErrKeyRetired) || errors.Is(err, tenantkeys.ErrKeyDisabled) {
			if cur, cerr := keys.CurrentKey(ctx, ref.Tenant, ref.Class); cerr == nil {
				edited := cur.Ref.Version != ref.Version && d.sealer.CommitsTo(item, cur)
				cur.Zero()
				if edited {
					return nil, ref, statusTampered, fmt.Errorf("%w: the header names key %s but commits to the current key", attrcrypt.ErrTampered, ref)
				}
			}
		}
		return nil, ref, statusUnverifiable, fmt.Errorf("key %s: %w", ref, err)
	}
	defer key.Zero()
	var m map[string]types.AttributeValue
	if decrypt {
		m, err = d.sealer.OpenRecorded(item, key)
	} else {
		err = d.sealer.Verify(item, key)
	}
	switch {
	case err == nil:
		return m, ref, statusVerified, nil
	case errors.Is(err, attrcrypt.ErrTampered):
		return nil, ref, statusTampered, err
	case errors.Is(err, attrcrypt.ErrWrongTenant):
		return nil, ref, statusWrongTenant, err
	}
	return nil, ref, statusUnverifiable, err
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
