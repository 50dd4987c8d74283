// Command dynaseal-gen generates, for each named struct type of the package
// in the current directory, a reflection-free DynamoDB codec and a typed,
// tenant-scoped repository over dynaseal's table package. Run it from a
// generate directive next to the type:
//
//	//go:generate go run github.com/dynaseal/dynaseal/codegen/cmd/dynaseal-gen -type Patient -table patients
//
// Flags:
//
//	-type              struct type names, comma separated (required)
//	-table             DynamoDB table name of the generated New<Type>Repository
//	-logical-table     name bound into signatures (table.WithLogicalName)
//	-class             tenant key class (table.WithKeyClass)
//	-output            output file (default <lowercased first type>_dynaseal.go)
//	-no-redact-format  do not generate String and Format (LogValue stays)
//	-no-redact-json    do not generate MarshalJSON (encoding/json prints in clear)
//	-codec-only        generate the codec only, no repository
//
// Errors name file:line:column, the type, the field and the reason; the
// exit status is 1 when anything is wrong and nothing is written then.
package main

import (
	"fmt"
	"os"

	"github.com/dynaseal/dynaseal/codegen"
)

func main() {
	opts, out, err := codegen.ParseArgs(os.Args[1:], os.Stderr)
	if err == nil {
		err = codegen.WriteFile(".", out, opts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
