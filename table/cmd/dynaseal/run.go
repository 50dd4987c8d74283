package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Exit codes.
const (
	exitOK      = 0 // done; every item verified
	exitFailed  = 1 // an error, or items that failed (reported on stderr)
	exitUsage   = 2 // bad flags or arguments
	exitStopped = 3 // a job was interrupted; run it again with --resume
)

// errUsage marks an error in the command line.
var errUsage = errors.New("usage")

// errStopped reports a job interrupted before it finished; its checkpoint
// lets it resume.
var errStopped = errors.New("stopped before the end")

// errItemsFailed reports that some items failed; each was already reported.
var errItemsFailed = errors.New("failed")

// cli is one invocation: the parsed global flags, the output streams, and
// the clients made from them (lazily, so --help needs no AWS setup).
type cli struct {
	out, errw io.Writer
	// outMu serializes item reports, which concurrent segments send.
	outMu sync.Mutex
	g     globals
	res   resources
	// isTerminal reports whether progress goes to a terminal; tests
	// replace it.
	isTerminal func() bool
}

// globals are the flags every subcommand accepts, before or after its name.
type globals struct {
	json          bool
	region        string
	profile       string
	endpoint      string
	kmsEndpoint   string
	keyTable      string
	storeName     string
	kmsKey        string
	kmsAlias      string
	masterKeyFile string
	table         string
	logicalName   string
	tenantAttr    string
	class         string
}

// register adds the global flags to fs, bound to g.
func (g *globals) register(fs *flag.FlagSet) {
	fs.BoolVar(&g.json, "json", g.json, "print JSON (one object, or JSON lines for item streams) for scripts")
	fs.StringVar(&g.region, "region", g.region, "AWS region (default: the SDK's configuration: AWS_REGION, profile)")
	fs.StringVar(&g.profile, "profile", g.profile, "AWS shared configuration profile (default: AWS_PROFILE or default)")
	fs.StringVar(&g.endpoint, "endpoint-url", g.endpoint, "DynamoDB endpoint override, e.g. http://localhost:8000 for DynamoDB Local")
	fs.StringVar(&g.kmsEndpoint, "kms-endpoint-url", g.kmsEndpoint, "KMS endpoint override (a local KMS)")
	fs.StringVar(&g.keyTable, "key-table", g.keyTable, "tenant key store table (env DYNASEAL_KEY_TABLE)")
	fs.StringVar(&g.storeName, "key-store-name", g.storeName, "key-store name bound into key records, if the application sets tenantkeys.WithStoreName")
	fs.StringVar(&g.kmsKey, "kms-key", g.kmsKey, "KMS key (id, ARN, alias) wrapping every tenant key (env DYNASEAL_KMS_KEY)")
	fs.StringVar(&g.kmsAlias, "kms-alias-pattern", g.kmsAlias, "KMS alias per tenant, e.g. alias/tenant-{tenant} (instead of --kms-key)")
	fs.StringVar(&g.masterKeyFile, "master-key-file", g.masterKeyFile, "local master key file wrapping tenant keys, instead of KMS (env DYNASEAL_MASTER_KEY_FILE)")
	fs.StringVar(&g.table, "table", g.table, "data table (env DYNASEAL_TABLE)")
	fs.StringVar(&g.logicalName, "logical-name", g.logicalName, "logical table name bound into signatures (default: --table; see table.WithLogicalName)")
	fs.StringVar(&g.tenantAttr, "tenant-attr", g.tenantAttr, "tenant attribute of the data table")
	fs.StringVar(&g.class, "class", g.class, "tenant key class (default: the default class)")
}

// defaults fills the globals from the environment.
func (g *globals) defaults() {
	g.tenantAttr = "tenant"
	g.keyTable = os.Getenv("DYNASEAL_KEY_TABLE")
	g.kmsKey = os.Getenv("DYNASEAL_KMS_KEY")
	g.masterKeyFile = os.Getenv("DYNASEAL_MASTER_KEY_FILE")
	g.table = os.Getenv("DYNASEAL_TABLE")
}

// command is one subcommand.
type command struct {
	name, summary string
	help          string   // what it does
	examples      []string // command lines, DynamoDB Local and AWS
	flags         func(fs *flag.FlagSet) func(ctx context.Context, c *cli) error
}

// run is the whole command: it parses args and runs one subcommand,
// writing results to stdout and diagnostics to stderr, and returns the exit
// code. It is main without the process, so tests run it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{out: stdout, errw: stderr, isTerminal: stderrIsTerminal}
	c.g.defaults()
	defer c.res.close()
	top := flag.NewFlagSet("dynaseal", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	c.g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.topUsage(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "dynaseal: %v\n\n", err)
		c.topUsage(stderr)
		return exitUsage
	}
	rest := top.Args()
	if len(rest) == 0 || rest[0] == "help" {
		if len(rest) > 1 {
			return run(ctx, []string{rest[1], "--help"}, stdout, stderr)
		}
		c.topUsage(stdout)
		if len(rest) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, name, args, code := c.lookup(rest, stdout, stderr)
	if cmd == nil {
		return code
	}
	fs := flag.NewFlagSet("dynaseal "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	do := cmd.flags(fs)
	c.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.commandUsage(stdout, name, cmd, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "dynaseal %s: %v\n\n", name, err)
		c.commandUsage(stderr, name, cmd, fs)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dynaseal %s: unexpected argument %q (every input is a flag)\n\n", name, fs.Arg(0))
		c.commandUsage(stderr, name, cmd, fs)
		return exitUsage
	}
	err := do(ctx, c)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "dynaseal %s: %v\n", name, err)
		fmt.Fprintf(stderr, "run 'dynaseal %s --help' for usage\n", name)
		return exitUsage
	case errors.Is(err, errStopped):
		fmt.Fprintf(stderr, "dynaseal %s: %v\n", name, err)
		return exitStopped
	}
	// Every error printed here is value-free: dynaseal's packages never put
	// values in errors, and the command's own AWS calls go through
	// awsError, which drops the services' message text.
	fmt.Fprintf(stderr, "dynaseal %s: %v\n", name, err)
	return exitFailed
}

// lookup finds the command rest names ("inspect", or "keys create") and
// returns it with its full name and its arguments; without one it prints
// the usage and returns the exit code.
func (c *cli) lookup(rest []string, stdout, stderr io.Writer) (*command, string, []string, int) {
	name, args := rest[0], rest[1:]
	cmds, ok := commands()[name]
	if !ok {
		fmt.Fprintf(stderr, "dynaseal: unknown command %q\n\n", name)
		c.topUsage(stderr)
		return nil, "", nil, exitUsage
	}
	if len(cmds) == 1 && cmds[0].name == name {
		return &cmds[0], name, args, 0
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && isHelpFlag(args[0]) {
			c.groupUsage(stdout, name, cmds)
			return nil, "", nil, exitOK
		}
		c.groupUsage(stderr, name, cmds)
		return nil, "", nil, exitUsage
	}
	for i := range cmds {
		if cmds[i].name == args[0] {
			return &cmds[i], name + " " + cmds[i].name, args[1:], 0
		}
	}
	fmt.Fprintf(stderr, "dynaseal: unknown command %q %q\n\n", name, args[0])
	c.groupUsage(stderr, name, cmds)
	return nil, "", nil, exitUsage
}

func isHelpFlag(s string) bool {
	switch strings.TrimLeft(s, "-") {
	case "h", "help":
		return true
	}
	return false
}

// usagef is a usage error.
func usagef(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

// printJSON writes v as indented JSON.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// stderrIsTerminal reports whether the process's stderr, where progress
// goes, is a terminal.
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
