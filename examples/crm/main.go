// Command crm shows dynaseal's searchable encryption through the generated
// repository of a small CRM: customers whose email is encrypted, found by
// email through a beacon (FindByEmail), unique per company (GetByEmail; a
// duplicate create is refused, a changed email releases the old one), found
// by status and email through a compound beacon (FindByStatusEmail), and
// listed by status and date through a declared index (QueryByStatus). A
// data key rotation leaves search and uniqueness working (the beacon key is
// not rotated); a shredded company cannot be searched any more.
//
//	go run ./examples/crm
//
// With no flag it starts DynamoDB Local (through the launcher in itest/:
// Java 17 and npm, or Docker); -endpoint URL uses a running DynamoDB Local,
// -endpoint aws real DynamoDB (default credential chain and region).
// Tenant keys are wrapped by a throwaway local master key. The tables it
// creates are deleted at the end. It exits non-zero if any step does not
// behave as shown.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.endpoint, "endpoint", "", `URL of a running DynamoDB Local, or "aws" for real DynamoDB (default: start DynamoDB Local)`)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "crm:", err)
		cancel()
		stop()
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	// endpoint is the URL of a running DynamoDB Local; "" starts one;
	// "aws" is real DynamoDB.
	endpoint string
}

// step prints a numbered heading.
func step(out io.Writer, n int, title string) {
	fmt.Fprintf(out, "\n%d. %s\n", n, title)
}
