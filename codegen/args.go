package codegen

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// ParseArgs parses dynaseal-gen's command line into Options and the output
// file name (DefaultOutput unless -output is given). The same parser serves
// the command and the staleness check, which re-runs the command line
// recorded in each generated file's header.
func ParseArgs(args []string, stderr io.Writer) (Options, string, error) {
	fs := flag.NewFlagSet("dynaseal-gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	typeNames := fs.String("type", "", "struct type names, comma separated (required)")
	tableName := fs.String("table", "", "DynamoDB table name of the generated New<Type>Repository")
	logical := fs.String("logical-table", "", "logical table name bound into signatures (table.WithLogicalName)")
	class := fs.String("class", "", "tenant key class (table.WithKeyClass)")
	output := fs.String("output", "", "output file (default <lowercased first type>_dynaseal.go)")
	noRedact := fs.Bool("no-redact-format", false, "do not generate String and Format methods (LogValue stays)")
	noRedactJSON := fs.Bool("no-redact-json", false, "do not generate MarshalJSON (encoding/json prints encrypted fields in clear)")
	codecOnly := fs.Bool("codec-only", false, "generate the codec only, no repository")
	if err := fs.Parse(args); err != nil {
		return Options{}, "", err
	}
	if fs.NArg() > 0 {
		return Options{}, "", fmt.Errorf("dynaseal-gen: unexpected arguments %q", fs.Args())
	}
	if *typeNames == "" {
		return Options{}, "", fmt.Errorf("dynaseal-gen: -type is required")
	}
	opts := Options{
		Types:          strings.Split(*typeNames, ","),
		Table:          *tableName,
		LogicalTable:   *logical,
		Class:          *class,
		NoRedactFormat: *noRedact,
		NoRedactJSON:   *noRedactJSON,
		NoRepository:   *codecOnly,
		Args:           args,
	}
	out := *output
	if out == "" {
		out = DefaultOutput(opts.Types)
	}
	return opts, out, nil
}
