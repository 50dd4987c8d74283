package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// The first interrupt cancels the context: a job stops, keeping the
	// checkpoint of its last finished page, and exits with status 3. Once
	// it is cancelled the default handling is back, so a second interrupt
	// kills the process (the checkpoint survives that too).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
