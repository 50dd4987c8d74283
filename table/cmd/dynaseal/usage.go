package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// commands lists the subcommands by group; a group of one command named
// like the group is a top-level command.
func commands() map[string][]command {
	m := map[string][]command{
		"keys": {
			{name: "create-table", summary: "create the tenant key store table", flags: keysCreateTable,
				help: "Creates the key store table (--key-table) and waits until it is active.",
				examples: []string{
					"dynaseal keys create-table --endpoint-url http://localhost:8000 --key-table tenant-keys",
					"dynaseal keys create-table --region eu-west-1 --key-table tenant-keys",
				}},
			{name: "create", summary: "create version 1 of a tenant key", flags: keysCreate,
				help: "Creates version 1 of the key of (--tenant, --class), wrapped by the --kms-key,\n--kms-alias-pattern or --master-key-file key.",
				examples: []string{
					"dynaseal keys create --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --tenant acme",
					"dynaseal keys create --key-table tenant-keys --kms-key alias/dynaseal --tenant acme --json",
				}},
			{name: "rotate", summary: "add a new key version that new writes use", flags: keysRotate,
				help: "Adds version N+1 of the tenant key; new writes use it at once (after each process's key\ncache TTL), old versions keep decrypting until 'dynaseal reencrypt' moves the items.",
				examples: []string{
					"dynaseal keys rotate --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --tenant acme",
					"dynaseal keys rotate --region eu-west-1 --key-table tenant-keys --kms-key alias/dynaseal --tenant acme",
				}},
			{name: "versions", summary: "list a tenant key's versions", flags: keysVersions,
				help: "Lists the stored versions: number, creation time, current, disabled, wrapping key.\nNever prints key material or wrapped blobs.",
				examples: []string{
					"dynaseal keys versions --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --tenant acme --json",
					"dynaseal keys versions --profile admin --key-table tenant-keys --kms-key alias/dynaseal --tenant acme",
				}},
			{name: "disable", summary: "disable a tenant key (reads and writes fail until enabled)", flags: keysDisable,
				examples: []string{
					"dynaseal keys disable --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --tenant acme",
					"dynaseal keys disable --key-table tenant-keys --kms-key alias/dynaseal --tenant acme",
				}},
			{name: "enable", summary: "enable a disabled tenant key", flags: keysEnable,
				examples: []string{
					"dynaseal keys enable --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --tenant acme",
					"dynaseal keys enable --key-table tenant-keys --kms-key alias/dynaseal --tenant acme",
				}},
			{name: "retire", summary: "delete key versions below a floor (after reencrypt)", flags: keysRetire,
				help: "Raises the key's retirement floor to --below and deletes the versions under it. Items\nstill sealed under them become unreadable: run 'dynaseal reencrypt' first; it prints the\nsafe floor per tenant.",
				examples: []string{
					"dynaseal keys retire --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --tenant acme --below 2 --yes",
					"dynaseal keys retire --key-table tenant-keys --kms-key alias/dynaseal --tenant acme --below 3 --yes",
				}},
			{name: "rewrap", summary: "re-wrap every live version under the configured wrapping key", flags: keysRewrap,
				help: "Moves the tenant's live key versions under the wrapping key given by --kms-key,\n--kms-alias-pattern or --master-key-file, unwrapping them with the --from-* key\n(default: the same). Afterwards the old wrapping key can be disabled.",
				examples: []string{
					"dynaseal keys rewrap --key-table tenant-keys --kms-key alias/dynaseal-2027 --from-kms-key alias/dynaseal --tenant acme",
					"dynaseal keys rewrap --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --tenant acme   # after appending a master key",
				}},
			{name: "shred", summary: "destroy every key of a tenant (crypto-shredding)", flags: keysShred,
				help: "Destroys every key version of every class of the tenant. Its items can never be read\nagain (reads fail with 'key shredded'); 'dynaseal purge' then deletes them. Needs --yes.",
				examples: []string{
					"dynaseal keys shred --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --tenant acme --yes",
					"dynaseal keys shred --key-table tenant-keys --kms-key alias/dynaseal --tenant acme --yes",
				}},
			{name: "reopen", summary: "allow new keys for a shredded tenant", flags: keysReopen,
				examples: []string{
					"dynaseal keys reopen --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --tenant acme",
					"dynaseal keys reopen --key-table tenant-keys --kms-key alias/dynaseal --tenant acme",
				}},
		},
		"inspect": {{name: "inspect", summary: "show an item's header and whether it verifies", flags: inspectCmd,
			help: "Reads one item by its primary key and shows its header: the key it is sealed with,\nthe recorded action of every covered attribute, the plain attributes, and whether it\nverifies. Values are never printed, except with --show-values (decrypted, only after\nthe item verified). Exit status 1 when the item does not verify.",
			examples: []string{
				"dynaseal inspect --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --table patients --pk acme --sk p-1",
				"dynaseal inspect --key-table tenant-keys --kms-key alias/dynaseal --table orders --tenant-attr org --pk ORDER#42 --json",
			}}},
		"export": {{name: "export", summary: "export a tenant's items, decrypted, as JSON lines", flags: exportCmd,
			help: "Writes every item of --tenant that verifies, decrypted, as one JSON object per line on\nstdout (a data-subject access request). Items that do not verify are not exported;\neach is reported on stderr by its key, and the exit status is 1. The tenant's items are\nfound through the partition key or a global secondary index on the tenant attribute;\n--scan filters a whole-table scan instead.",
			examples: []string{
				"dynaseal export --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --table patients --tenant acme > acme.jsonl",
				"dynaseal export --key-table tenant-keys --kms-key alias/dynaseal --table orders --tenant-attr org --tenant acme --dynamodb-json > acme.jsonl",
			}}},
	}
	for name, cmds := range jobCommands() {
		m[name] = cmds
	}
	return m
}

// globalHelp describes the configuration every command shares.
const globalHelp = `Configuration (every command; flags go before or after the command name):
  AWS: the SDK's standard configuration (AWS_REGION, AWS_PROFILE, shared config and
  credentials files, SSO, instance roles), with --region, --profile, and
  --endpoint-url / --kms-endpoint-url for DynamoDB Local or a local KMS.
  Tenant keys: --key-table and one wrapping key: --kms-key, --kms-alias-pattern or
  --master-key-file (a local master key, as tenantkeys.LoadKeyringFile reads).
  Data: --table, --tenant-attr (default "tenant"), --logical-name, --class.
  --json prints JSON for scripts.
  Environment: DYNASEAL_TABLE, DYNASEAL_KEY_TABLE, DYNASEAL_KMS_KEY, DYNASEAL_MASTER_KEY_FILE.`

func (c *cli) topUsage(w io.Writer) {
	fmt.Fprint(w, `dynaseal administers dynaseal tables and tenant keys.

Usage:
  dynaseal [global flags] <command> [flags]

Commands:
`)
	groups := commands()
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, cmd := range groups[n] {
			full := n
			if cmd.name != n {
				full += " " + cmd.name
			}
			fmt.Fprintf(w, "  %-22s %s\n", full, cmd.summary)
		}
	}
	fmt.Fprintf(w, "\n%s\n", globalHelp)
	fmt.Fprint(w, `
Examples:
  # DynamoDB Local and a local master key (AWS_ACCESS_KEY_ID/SECRET set to anything):
  dynaseal keys create-table --endpoint-url http://localhost:8000 --key-table tenant-keys
  dynaseal keys create --endpoint-url http://localhost:8000 --key-table tenant-keys \
      --master-key-file ./master.key --tenant acme

  # AWS, with the default credential chain and a KMS key:
  dynaseal keys rotate --region eu-west-1 --key-table tenant-keys --kms-key alias/dynaseal --tenant acme
  dynaseal reencrypt --region eu-west-1 --key-table tenant-keys --kms-key alias/dynaseal \
      --table patients --tenant acme --checkpoint file://./ckpt --job-id rotate-acme

Run 'dynaseal <command> --help' for a command's flags and examples.
`)
}

func (c *cli) groupUsage(w io.Writer, group string, cmds []command) {
	fmt.Fprintf(w, "Usage:\n  dynaseal %s <command> [flags]\n\nCommands:\n", group)
	for _, cmd := range cmds {
		fmt.Fprintf(w, "  %-14s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "\nExamples:\n")
	for _, cmd := range cmds {
		if len(cmd.examples) > 0 {
			fmt.Fprintf(w, "  %s\n", cmd.examples[0])
		}
	}
	fmt.Fprintf(w, "\nRun 'dynaseal %s <command> --help' for a command's flags.\n", group)
}

func (c *cli) commandUsage(w io.Writer, name string, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage:\n  dynaseal %s [flags]\n\n%s.\n", name, upperFirst(cmd.summary))
	if cmd.help != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.help)
	}
	fmt.Fprintf(w, "\nExamples:\n")
	for _, e := range cmd.examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
	global := flag.NewFlagSet("", flag.ContinueOnError)
	var g globals
	g.register(global)
	fmt.Fprintf(w, "\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		if global.Lookup(f.Name) == nil {
			printFlag(w, f)
		}
	})
	fmt.Fprintf(w, "\nGlobal flags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		if global.Lookup(f.Name) != nil {
			printFlag(w, f)
		}
	})
	fmt.Fprintf(w, "\n%s\n", globalHelp)
}

func printFlag(w io.Writer, f *flag.Flag) {
	name, usage := flag.UnquoteUsage(f)
	line := "  --" + f.Name
	if name != "" {
		line += " " + name
	}
	fmt.Fprintf(w, "%s\n      %s", line, usage)
	if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
		fmt.Fprintf(w, " (default %s)", f.DefValue)
	}
	fmt.Fprintln(w)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
