package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/dynaseal/dynaseal/tenantkeys"
)

// versionJSON is one key version as printed: names and metadata, never key
// material (the wrapped blob is not printed either).
type versionJSON struct {
	Tenant      string    `json:"tenant"`
	Class       string    `json:"class"`
	Version     uint32    `json:"version"`
	WrappingKey string    `json:"wrappingKey"`
	Created     time.Time `json:"created"`
	Current     bool      `json:"current"`
	Disabled    bool      `json:"disabled"`
}

func toVersionJSON(v tenantkeys.VersionInfo) versionJSON {
	return versionJSON{
		Tenant: v.Ref.Tenant, Class: v.Ref.Class, Version: v.Ref.Version,
		WrappingKey: v.Wrapped.KeyID, Created: v.Created.UTC(), Current: v.Current, Disabled: v.Disabled,
	}
}

// tenantFlag registers --tenant (required by every key command but
// create-table).
func tenantFlag(fs *flag.FlagSet) *string {
	return fs.String("tenant", "", "tenant id (required)")
}

func needTenant(t string) error {
	if t == "" {
		return usagef("--tenant is required")
	}
	return nil
}

// adminCmd wraps a key command that needs --tenant and the key store.
func adminCmd(fs *flag.FlagSet, do func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error) func(context.Context, *cli) error {
	tenant := tenantFlag(fs)
	return func(ctx context.Context, c *cli) error {
		if err := needTenant(*tenant); err != nil {
			return err
		}
		s, err := c.keyStore(ctx)
		if err != nil {
			return err
		}
		return do(ctx, c, s, *tenant)
	}
}

// printVersion reports one key version a command made.
func (c *cli) printVersion(verb string, v tenantkeys.VersionInfo) error {
	if c.g.json {
		return c.printJSON(toVersionJSON(v))
	}
	_, err := fmt.Fprintf(c.out, "%s %s (wrapped by %s)\n", verb, v.Ref, v.Wrapped.KeyID)
	return err
}

// printDone reports a key command without a result.
func (c *cli) printDone(op, tenant, class string, extra map[string]any) error {
	if c.g.json {
		m := map[string]any{"op": op, "tenant": tenant, "class": class, "ok": true}
		for k, v := range extra {
			m[k] = v
		}
		return c.printJSON(m)
	}
	what := tenant
	if class != "" {
		what += " class " + class
	}
	msg := fmt.Sprintf("%s: %s", op, what)
	for _, k := range sortedKeys(extra) {
		msg += fmt.Sprintf(", %s %v", k, extra[k])
	}
	_, err := fmt.Fprintln(c.out, msg)
	return err
}

// printCreated reports a table the command created.
func (c *cli) printCreated(what, table string) error {
	if c.g.json {
		return c.printJSON(map[string]any{"op": "create-table", "kind": what, "table": table, "ok": true})
	}
	_, err := fmt.Fprintf(c.out, "created %s table %s\n", what, table)
	return err
}

func keysCreateTable(fs *flag.FlagSet) func(context.Context, *cli) error {
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the table to become active")
	return func(ctx context.Context, c *cli) error {
		if c.g.keyTable == "" {
			return usagef("--key-table is required")
		}
		db, err := c.dynamo(ctx)
		if err != nil {
			return err
		}
		if err := tenantkeys.CreateTable(ctx, db, c.g.keyTable, *wait); err != nil {
			return err
		}
		return c.printCreated("key store", c.g.keyTable)
	}
}

func keysCreate(fs *flag.FlagSet) func(context.Context, *cli) error {
	return adminCmd(fs, func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error {
		v, err := a.Create(ctx, tenant, c.g.class)
		if err != nil {
			return err
		}
		return c.printVersion("created", v)
	})
}

func keysRotate(fs *flag.FlagSet) func(context.Context, *cli) error {
	return adminCmd(fs, func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error {
		v, err := a.Rotate(ctx, tenant, c.g.class)
		if err != nil {
			return err
		}
		return c.printVersion("rotated to", v)
	})
}

func keysVersions(fs *flag.FlagSet) func(context.Context, *cli) error {
	return adminCmd(fs, func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error {
		vs, err := a.Versions(ctx, tenant, c.g.class)
		if err != nil {
			return err
		}
		if c.g.json {
			out := make([]versionJSON, len(vs))
			for i, v := range vs {
				out[i] = toVersionJSON(v)
			}
			return c.printJSON(out)
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tCREATED\tCURRENT\tDISABLED\tWRAPPING KEY")
		for _, v := range vs {
			fmt.Fprintf(tw, "%d\t%s\t%v\t%v\t%s\n", v.Ref.Version, v.Created.UTC().Format(time.RFC3339), v.Current, v.Disabled, v.Wrapped.KeyID)
		}
		return tw.Flush()
	})
}

func keysDisable(fs *flag.FlagSet) func(context.Context, *cli) error {
	return adminCmd(fs, func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error {
		if err := a.Disable(ctx, tenant, c.g.class); err != nil {
			return err
		}
		return c.printDone("disabled", tenant, c.g.class, nil)
	})
}

func keysEnable(fs *flag.FlagSet) func(context.Context, *cli) error {
	return adminCmd(fs, func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error {
		if err := a.Enable(ctx, tenant, c.g.class); err != nil {
			return err
		}
		return c.printDone("enabled", tenant, c.g.class, nil)
	})
}

func keysRetire(fs *flag.FlagSet) func(context.Context, *cli) error {
	below := fs.Uint("below", 0, "retire (delete) every version below this one (required; the reencrypt job prints the safe floor)")
	yes := fs.Bool("yes", false, "confirm: items still sealed under a retired version become unreadable")
	return adminCmd(fs, func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error {
		if *below == 0 || *below > 1<<32-1 {
			return usagef("--below VERSION is required (1 to 4294967295)")
		}
		if !*yes {
			return usagef("retiring deletes key versions below %d of %s; items still sealed under them become unreadable. Run reencrypt first, then add --yes", *below, tenant)
		}
		if err := a.Retire(ctx, tenant, c.g.class, uint32(*below)); err != nil {
			return err
		}
		return c.printDone("retired", tenant, c.g.class, map[string]any{"below": *below})
	})
}

func keysRewrap(fs *flag.FlagSet) func(context.Context, *cli) error {
	fromKMS := fs.String("from-kms-key", "", "KMS key the versions are wrapped by now, if not the --kms-key/--master-key-file ones")
	fromAlias := fs.String("from-kms-alias-pattern", "", "KMS alias pattern the versions are wrapped by now")
	fromFile := fs.String("from-master-key-file", "", "master key file the versions are wrapped by now")
	return adminCmd(fs, func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error {
		var from tenantkeys.Wrapper
		if *fromKMS != "" || *fromAlias != "" || *fromFile != "" {
			var err error
			if from, err = c.wrapperFor(ctx, *fromKMS, *fromAlias, *fromFile, "old wrapping key"); err != nil {
				return err
			}
		}
		n, err := a.Rewrap(ctx, tenant, c.g.class, from)
		if err != nil {
			return err
		}
		return c.printDone("rewrapped", tenant, c.g.class, map[string]any{"records": n})
	})
}

func keysShred(fs *flag.FlagSet) func(context.Context, *cli) error {
	yes := fs.Bool("yes", false, "confirm: every key of the tenant is destroyed, and every item sealed under them can never be read again")
	return adminCmd(fs, func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error {
		if !*yes {
			return usagef("shredding destroys every key of tenant %s (all classes) and cannot be undone; add --yes", tenant)
		}
		if err := a.Shred(ctx, tenant); err != nil {
			return err
		}
		return c.printDone("shredded", tenant, "", nil)
	})
}

func keysReopen(fs *flag.FlagSet) func(context.Context, *cli) error {
	return adminCmd(fs, func(ctx context.Context, c *cli, a tenantkeys.Admin, tenant string) error {
		if err := a.ReopenAfterShred(ctx, tenant); err != nil {
			return err
		}
		return c.printDone("reopened", tenant, "", nil)
	})
}
