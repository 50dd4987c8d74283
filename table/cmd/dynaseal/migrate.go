package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// listFlag is a comma-separated list of attribute names, repeatable.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			*l = append(*l, n)
		}
	}
	return nil
}

func migrateCmd(fs *flag.FlagSet) func(context.Context, *cli) error {
	var jf jobFlags
	jf.register(fs, false)
	var encrypt, plain listFlag
	fs.Var(&encrypt, "encrypt", "attributes to encrypt, comma separated (the application's seal:\"encrypt\" fields)")
	fs.Var(&plain, "plain", "attributes left outside the signature, comma separated (seal:\"plain\")")
	createKeys := fs.Bool("create-keys", false, "create version 1 of the key of a tenant that has none (else its items are reported and left unsealed)")
	return func(ctx context.Context, c *cli) error {
		jf.encrypt, jf.plain = encrypt, plain
		if *createKeys {
			if _, err := c.keyStore(ctx); err != nil {
				return err
			}
			c.res.store = tenantkeys.NewDynamoDBStore(c.res.ddb, c.g.keyTable, c.res.wrapper, c.storeOptions(tenantkeys.WithCreateOnFirstUse(true))...)
		}
		r, err := c.prepare(ctx, &jf, "migrate", func(ir table.ItemReport) bool {
			return jf.verbose || ir.Outcome != table.OutcomeSealed && ir.Outcome != table.OutcomeGone
		})
		if err != nil {
			return err
		}
		st, err := r.a.Migrate(ctx, r.in)
		text := fmt.Sprintf("scanned %d, sealed %d, already sealed %d, gone %d, left unsealed %d",
			st.Scanned, st.Sealed, st.AlreadySealed, st.Gone, st.Unsealed)
		if err == nil && !c.g.json {
			switch {
			case st.Unsealed > 0:
				text += "\nnot fully sealed: fix the items listed above and run the pass again"
			case jf.all || jf.segments == 1:
				text += "\nfully sealed (no item left unsealed): if no writer bypasses dynaseal, migration mode can be turned off"
			default:
				text += "\nthis segment left no item unsealed; the table is fully sealed when every segment says so"
			}
		}
		return c.finishJob(ctx, &jf, r, "migrate", st, text, st.Unsealed, err)
	}
}
