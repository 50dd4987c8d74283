package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

const statusNotSealed = "not-sealed"

// inspectJSON is what inspect prints with --json. Values appears only with
// --show-values, and only for an item that verified.
type inspectJSON struct {
	Table         string         `json:"table"`
	Key           map[string]any `json:"key"`
	Tenant        string         `json:"tenant,omitempty"`
	KeyRef        *keyRefJSON    `json:"keyRef,omitempty"`
	FormatVersion int            `json:"formatVersion,omitempty"`
	Covered       []coveredJSON  `json:"covered,omitempty"`
	Plain         []string       `json:"plain,omitempty"`
	StoredBytes   int            `json:"storedBytes"`
	Verified      bool           `json:"verified"`
	Status        string         `json:"status"`
	Error         string         `json:"error,omitempty"`
	Values        map[string]any `json:"values,omitempty"`
}

type keyRefJSON struct {
	Tenant  string `json:"tenant"`
	Class   string `json:"class"`
	Version uint32 `json:"version"`
}

type coveredJSON struct {
	Name   string `json:"name"`
	Action string `json:"action"`
}

func inspectCmd(fs *flag.FlagSet) func(context.Context, *cli) error {
	pk := fs.String("pk", "", "partition key value (S as is, N a number, B base64) (required)")
	var sk optString
	fs.Var(&sk, "sk", "sort key value, for a table with a sort key")
	show := fs.Bool("show-values", false, "also print the item decrypted, after it verified (prints plaintext)")
	return func(ctx context.Context, c *cli) error {
		if *pk == "" {
			return usagef("--pk is required")
		}
		d, err := c.dataTable(ctx)
		if err != nil {
			return err
		}
		key, err := d.primaryKey(*pk, sk.v, sk.set)
		if err != nil {
			return err
		}
		out, err := d.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.name), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return newAWSError("GetItem", err)
		}
		if len(out.Item) == 0 {
			return fmt.Errorf("%w: no item with key %s in %s", errItemsFailed, d.keyString(key), d.name)
		}
		keys, err := c.keys(ctx)
		if err != nil {
			return err
		}
		r := inspectJSON{Table: d.name, Key: d.keyJSON(out.Item), StoredBytes: attrcrypt.ItemSize(out.Item)}
		if tv, ok := out.Item[d.tenantAttr].(*types.AttributeValueMemberS); ok {
			r.Tenant = tv.Value
		}
		_, hasH := out.Item[attrcrypt.HeaderAttribute]
		_, hasS := out.Item[attrcrypt.SignatureAttribute]
		if !hasH && !hasS {
			r.Status = statusNotSealed
			r.Error = "the item has neither header nor signature: it was never sealed (or both were stripped)"
		} else {
			info, herr := d.sealer.Describe(out.Item)
			if info.FormatVersion != 0 {
				r.FormatVersion = info.FormatVersion
				r.KeyRef = &keyRefJSON{Tenant: info.Ref.Tenant, Class: info.Ref.Class, Version: info.Ref.Version}
				r.Plain = info.Plain
			}
			for _, cv := range info.Covered {
				r.Covered = append(r.Covered, coveredJSON{Name: cv.Name, Action: cv.Action.String()})
			}
			opened, _, status, oerr := d.open(ctx, keys, "", out.Item, *show)
			r.Status = status
			r.Verified = oerr == nil
			switch {
			case oerr != nil:
				r.Error = oerr.Error()
			case herr != nil: // cannot happen for an item that verified
				r.Verified, r.Status, r.Error = false, statusTampered, herr.Error()
			case *show:
				r.Values = plainItem(opened)
			}
		}
		if c.g.json {
			if err := c.printJSON(r); err != nil {
				return err
			}
		} else if err := c.printInspect(&r); err != nil {
			return err
		}
		if !r.Verified {
			return fmt.Errorf("%w: the item is %s", errItemsFailed, r.Status)
		}
		return nil
	}
}

func (c *cli) printInspect(r *inspectJSON) error {
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "table\t%s\n", r.Table)
	for _, k := range sortedKeys(r.Key) {
		fmt.Fprintf(tw, "key\t%s = %v\n", k, r.Key[k])
	}
	if r.KeyRef != nil {
		ref := attrcrypt.KeyRef{Tenant: r.KeyRef.Tenant, Class: r.KeyRef.Class, Version: r.KeyRef.Version}
		fmt.Fprintf(tw, "format\tversion %d\n", r.FormatVersion)
		fmt.Fprintf(tw, "sealed with\t%s\n", ref)
	}
	fmt.Fprintf(tw, "stored size\t%d bytes\n", r.StoredBytes)
	if len(r.Covered) > 0 {
		fmt.Fprintf(tw, "covered\t%d attributes (recorded action)\n", len(r.Covered))
		for _, cv := range r.Covered {
			fmt.Fprintf(tw, "  %s\t%s\n", cv.Name, cv.Action)
		}
	}
	for _, p := range r.Plain {
		fmt.Fprintf(tw, "  %s\tplain (not signed)\n", p)
	}
	if r.Verified {
		fmt.Fprintf(tw, "verifies\tyes\n")
	} else {
		fmt.Fprintf(tw, "verifies\tNO: %s: %s\n", r.Status, r.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Values != nil {
		fmt.Fprintln(c.out, "values (decrypted, verified):")
		return c.printJSON(r.Values)
	}
	return nil
}

// optString is a string flag that records whether it was given (an empty
// sort key value is not the same as none).
type optString struct {
	v   string
	set bool
}

func (o *optString) String() string     { return o.v }
func (o *optString) Set(s string) error { o.v, o.set = s, true; return nil }
