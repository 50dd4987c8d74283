// Command dynaseal-gen generates, for each named struct type of the package
// in the current directory, a reflection-free DynamoDB codec and a typed,
// tenant-scoped repository over dynaseal's table package. Run it from a
// go:generate line next to the type:
//
//	//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Patient -table patients
//
// Flags:
//
//	-type            struct type names, comma separated (required)
//	-table           DynamoDB table name of the generated New<Type>Repository
//	-logical-table   name bound into signatures (table.WithLogicalName)
//	-class           tenant key class (table.WithKeyClass)
//	-output          output file (default <lowercased first type>_dynaseal.go)
//	-no-redact-format  do not generate String and Format (LogValue stays)
//	-codec-only      generate the codec only, no repository
//
// Errors name file:line:column, the type, the field and the reason.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dynaseal/dynaseal/codegen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("dynaseal-gen", flag.ContinueOnError)
	typeNames := fs.String("type", "", "struct type names, comma separated")
	tableName := fs.String("table", "", "DynamoDB table name")
	logical := fs.String("logical-table", "", "logical table name bound into signatures")
	class := fs.String("class", "", "tenant key class")
	output := fs.String("output", "", "output file")
	noRedact := fs.Bool("no-redact-format", false, "do not generate String and Format methods")
	codecOnly := fs.Bool("codec-only", false, "generate the codec only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *typeNames == "" {
		fs.Usage()
		return fmt.Errorf("dynaseal-gen: -type is required")
	}
	opts := codegen.Options{
		Types:          strings.Split(*typeNames, ","),
		Table:          *tableName,
		LogicalTable:   *logical,
		Class:          *class,
		NoRedactFormat: *noRedact,
		NoRepository:   *codecOnly,
		Args:           args,
	}
	out := *output
	if out == "" {
		out = codegen.DefaultOutput(opts.Types)
	}
	dir := "."
	if !filepath.IsAbs(out) {
		out = filepath.Join(dir, out)
	}
	return codegen.WriteFile(dir, out, opts)
}
