// Command quickstart shows dynaseal end to end in one run:
//
//	go run ./examples/quickstart
//
// With no configuration it starts DynamoDB Local (through the launcher in
// itest/: Java 17 and npm, or Docker), keeps a development master key in the
// user's config directory, creates a data table and a key store table, and
// then walks through six steps: two clinics write patients; one item as
// DynamoDB stores it next to what the application reads; a row copied into
// the other clinic's partition fails verification; a request scoped to one
// clinic cannot reach the other's record; a key rotation keeps old records
// readable; and shredding one clinic makes its records unreadable while the
// other clinic is untouched.
//
// It exits non-zero if any step does not behave as shown. Against real AWS:
//
//	go run ./examples/quickstart -endpoint aws -kms-key alias/dynaseal
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.Endpoint, "endpoint", "", `DynamoDB endpoint URL, or "aws" for real AWS with the default credential chain and region (default: start DynamoDB Local)`)
	flag.StringVar(&cfg.KMSKey, "kms-key", "", "wrap tenant keys with this KMS key (id, ARN or alias) instead of a local master key")
	flag.StringVar(&cfg.MasterKeyFile, "master-key", "", "local master key file (default: <user config dir>/dynaseal/master.key, created if absent)")
	flag.StringVar(&cfg.Table, "table", "quickstart-patients", "data table name (created if absent)")
	flag.StringVar(&cfg.KeyTable, "key-table", "quickstart-keys", "key store table name (created if absent)")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart failed:", err)
		os.Exit(1)
	}
}

// config is what the flags set; the zero value runs against DynamoDB Local
// with a local master key.
type config struct {
	Endpoint      string // "" starts DynamoDB Local; "aws" is real AWS
	KMSKey        string
	MasterKeyFile string
	Table         string
	KeyTable      string
}

// step prints a numbered heading.
func step(out io.Writer, n int, title string) {
	fmt.Fprintf(out, "\n%d. %s\n", n, title)
}
