package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"iter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func exportCmd(fs *flag.FlagSet) func(context.Context, *cli) error {
	tenant := fs.String("tenant", "", "tenant whose items to export (required)")
	index := fs.String("index", "", "global secondary index whose partition key is the tenant attribute (default: found from the table)")
	scan := fs.Bool("scan", false, "scan the whole table with a filter when neither the partition key nor an index is the tenant attribute")
	typed := fs.Bool("dynamodb-json", false, "print DynamoDB's typed JSON ({\"S\": …}) instead of plain JSON")
	return func(ctx context.Context, c *cli) error {
		if *tenant == "" {
			return usagef("--tenant is required")
		}
		d, err := c.dataTable(ctx)
		if err != nil {
			return err
		}
		if *index != "" {
			d.tenantIndex, d.tenantIndexAll = *index, false // fetch whole items: the projection is unknown
		}
		keys, err := c.keys(ctx)
		if err != nil {
			return err
		}
		items, err := d.tenantItems(ctx, *tenant, *scan)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(c.out)
		var exported, failed int
		for item, err := range items {
			if err != nil {
				return err
			}
			m, _, status, oerr := d.open(ctx, keys, *tenant, item, true)
			if oerr != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed++
				fmt.Fprintf(c.errw, "export: item %s: %s: %v\n", d.keyString(item), status, oerr)
				continue
			}
			var line any
			if *typed {
				line = typedItem(m)
			} else {
				line = plainItem(m)
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
			exported++
		}
		fmt.Fprintf(c.errw, "export: tenant %s: %d items exported, %d failed\n", *tenant, exported, failed)
		if failed > 0 {
			return fmt.Errorf("%w: %d items of tenant %s did not verify and were not exported", errItemsFailed, failed, *tenant)
		}
		return nil
	}
}

// tenantItems yields every stored item of tenant: by a Query of its
// partition when the partition key is the tenant attribute, of the tenant
// index otherwise (fetching whole items when the index does not project
// them), and by a filtered Scan only when allowed. Items come one page at a
// time, so memory stays bounded.
func (d *dataTable) tenantItems(ctx context.Context, tenant string, scanOK bool) (iter.Seq2[map[string]types.AttributeValue, error], error) {
	names := map[string]string{"#t": d.tenantAttr}
	values := map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: tenant}}
	// more and next walk the pages of a Query or a Scan.
	var more func() bool
	var next func() ([]map[string]types.AttributeValue, error)
	switch {
	case d.pk == d.tenantAttr || d.tenantIndex != "":
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(d.name),
			KeyConditionExpression:    aws.String("#t = :t"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}
		if d.pk != d.tenantAttr {
			in.IndexName = aws.String(d.tenantIndex)
		} else {
			in.ConsistentRead = aws.Bool(true)
		}
		p := dynamodb.NewQueryPaginator(d.db, in)
		more = p.HasMorePages
		next = func() ([]map[string]types.AttributeValue, error) {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, newAWSError("Query", err)
			}
			return out.Items, nil
		}
	case scanOK:
		p := dynamodb.NewScanPaginator(d.db, &dynamodb.ScanInput{
			TableName:                 aws.String(d.name),
			FilterExpression:          aws.String("#t = :t"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
			ConsistentRead:            aws.Bool(true),
		})
		more = p.HasMorePages
		next = func() ([]map[string]types.AttributeValue, error) {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, newAWSError("Scan", err)
			}
			return out.Items, nil
		}
	default:
		return nil, usagef("table %s: neither its partition key (%s) nor a global secondary index is keyed on the tenant attribute %s; name an index with --index, or add --scan to scan the whole table", d.name, d.pk, d.tenantAttr)
	}
	fetch := d.pk != d.tenantAttr && d.tenantIndex != "" && !d.tenantIndexAll
	return func(yield func(map[string]types.AttributeValue, error) bool) {
		for more() {
			page, err := next()
			if err != nil {
				yield(nil, err)
				return
			}
			for _, item := range page {
				if fetch {
					if item, err = d.getWhole(ctx, item); err != nil {
						yield(nil, err)
						return
					}
					if item == nil {
						continue // deleted since the index saw it
					}
				}
				if !yield(item, nil) {
					return
				}
			}
		}
	}, nil
}

// getWhole reads the whole item an index entry points to.
func (d *dataTable) getWhole(ctx context.Context, entry map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	key := map[string]types.AttributeValue{d.pk: entry[d.pk]}
	if d.sk != "" {
		key[d.sk] = entry[d.sk]
	}
	out, err := d.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.name), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, newAWSError("GetItem", err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}
