package itest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Settings of the local-kms path, an independent KMS emulator
// (github.com/nsmithuk/local-kms) that the tests run next to kmslocal.
const (
	// EnvLocalKMSEndpoint names a running local-kms to use instead of
	// starting one.
	EnvLocalKMSEndpoint = "LOCAL_KMS_ENDPOINT"
	// LocalKMSModule and LocalKMSVersion are what the go install path
	// builds: a separate module, never a dependency of dynaseal's go.mod.
	LocalKMSModule  = "github.com/nsmithuk/local-kms"
	LocalKMSVersion = "v0.0.0-20260228092603-2a5e92d09ab6"
	// LocalKMSImage is the image the Docker path runs. (That path has not
	// run where this was written: no Docker there.)
	LocalKMSImage = "nsmithuk/local-kms:3.12.0"
	// LocalKMSRegion and LocalKMSAccount are the region and account id every
	// local-kms started here uses in its ARNs (the same as kmslocal's).
	LocalKMSRegion  = "us-east-1"
	LocalKMSAccount = "111122223333"
)

// SourceGoInstall is a local-kms built with go install and run as a child
// process.
const SourceGoInstall Source = "go install"

// LocalKMS is a local-kms this process started (or was pointed at).
type LocalKMS struct{ instance }

// String describes the instance for logs.
func (k *LocalKMS) String() string { return k.describe("local-kms ") }

// Close stops what StartLocalKMS started and removes its data directory.
// It does nothing for $LOCAL_KMS_ENDPOINT. Safe to call more than once.
func (k *LocalKMS) Close() error {
	if k == nil {
		return nil
	}
	return k.close()
}

// StartLocalKMS starts a new local-kms, or returns the one named by
// $LOCAL_KMS_ENDPOINT after checking that it answers. Otherwise it runs
// LocalKMSImage with testcontainers-go when a Docker engine answers, and
// else builds LocalKMSModule@LocalKMSVersion once with `go install` into
// os.UserCacheDir()/dynaseal/local-kms/ and runs it on a free port with its
// own data directory, region LocalKMSRegion and account LocalKMSAccount. On
// Linux the child dies with the test process. When every path fails the
// error is a *StartError naming each one.
func StartLocalKMS(ctx context.Context) (*LocalKMS, error) {
	return defaultKMSLauncher().start(ctx)
}

// kmsLauncher holds everything StartLocalKMS depends on, so tests can
// replace parts.
type kmsLauncher struct {
	getenv   func(string) string
	cacheDir func() (string, error)
	docker   func(context.Context) error
	runTC    func(context.Context) (*LocalKMS, error)
	build    func(ctx context.Context, cache string) (bin string, built bool, err error)
	ready    time.Duration
	logf     func(format string, args ...any)
}

func defaultKMSLauncher() *kmsLauncher {
	l := &kmsLauncher{
		getenv:   os.Getenv,
		cacheDir: defaultLocalKMSCacheDir,
		docker:   probeDocker,
		runTC:    runLocalKMSContainer,
		build:    buildLocalKMS,
		ready:    30 * time.Second,
		logf:     func(string, ...any) {},
	}
	if os.Getenv(EnvVerbose) != "" {
		l.logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "itest: "+format+"\n", args...)
		}
	}
	return l
}

func defaultLocalKMSCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "dynaseal", "local-kms"), nil
}

func (l *kmsLauncher) start(ctx context.Context) (*LocalKMS, error) {
	began := time.Now()
	if ep := l.getenv(EnvLocalKMSEndpoint); ep != "" {
		if err := waitKMSReady(ctx, ep, l.ready, nil); err != nil {
			return nil, &StartError{What: "local-kms", Attempts: []Attempt{{EnvLocalKMSEndpoint, fmt.Errorf("%s=%s does not answer: %w", EnvLocalKMSEndpoint, ep, err)}}}
		}
		return &LocalKMS{instance{endpoint: ep, source: SourceEndpoint}}, nil
	}
	attempts := []Attempt{{EnvLocalKMSEndpoint, errors.New("not set")}}
	only := l.getenv(EnvLauncher)
	if only != "java" { // "java" means: no Docker; the local path here is go install
		k, err := l.startDocker(ctx)
		if err == nil {
			l.logf("started %s in %v", k, time.Since(began).Round(time.Millisecond))
			return k, nil
		}
		attempts = append(attempts, Attempt{"Docker", err})
	} else {
		attempts = append(attempts, Attempt{"Docker", fmt.Errorf("skipped: %s=java", EnvLauncher)})
	}
	if only != "docker" {
		k, err := l.startBuilt(ctx)
		if err == nil {
			l.logf("started %s in %v", k, time.Since(began).Round(time.Millisecond))
			return k, nil
		}
		attempts = append(attempts, Attempt{"go install", err})
	} else {
		attempts = append(attempts, Attempt{"go install", fmt.Errorf("skipped: %s=docker", EnvLauncher)})
	}
	return nil, &StartError{What: "local-kms", Attempts: attempts}
}

func (l *kmsLauncher) startDocker(ctx context.Context) (*LocalKMS, error) {
	if err := l.docker(ctx); err != nil {
		return nil, err
	}
	k, err := l.runTC(ctx)
	if err != nil {
		return nil, err
	}
	if err := waitKMSReady(ctx, k.endpoint, l.ready, nil); err != nil {
		k.Close()
		return nil, fmt.Errorf("container at %s does not answer: %w", k.endpoint, err)
	}
	return k, nil
}

func (l *kmsLauncher) startBuilt(ctx context.Context) (*LocalKMS, error) {
	cache, err := l.cacheDir()
	if err != nil {
		return nil, fmt.Errorf("no cache directory for the local-kms binary: %w", err)
	}
	bin, built, err := l.build(ctx, cache)
	if err != nil {
		return nil, err
	}
	k, err := runLocalKMS(ctx, bin, l.ready)
	if err != nil {
		return nil, err
	}
	if built {
		k.detail = "built with go install into " + bin
	} else {
		k.detail = "cached binary " + bin
	}
	return k, nil
}

// buildLocalKMS returns the cached local-kms binary, building it first with
// `go install module@version` when it is missing. A file lock makes
// concurrent test processes build once; the binary is renamed into place
// only when complete, so a crash never leaves half a binary behind.
func buildLocalKMS(ctx context.Context, cache string) (string, bool, error) {
	dir := filepath.Join(cache, LocalKMSVersion)
	exe := "local-kms"
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	bin := filepath.Join(dir, exe)
	if isFile(bin) {
		return bin, false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, err
	}
	unlock, err := lockFile(ctx, filepath.Join(cache, ".lock"))
	if err != nil {
		return "", false, fmt.Errorf("lock %s: %w", cache, err)
	}
	defer unlock()
	if isFile(bin) { // another process built it while we waited
		return bin, false, nil
	}
	goTool, err := findGo()
	if err != nil {
		return "", false, err
	}
	tmp, err := os.MkdirTemp(cache, "build-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)
	gobin := filepath.Join(tmp, "bin")
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, goTool, "install", LocalKMSModule+"@"+LocalKMSVersion)
	// Outside dynaseal's module, so its go.mod is neither read nor changed.
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(),
		"GOBIN="+gobin, "GOFLAGS=-mod=mod", "GOWORK=off", "GO111MODULE=on",
		"GOTOOLCHAIN=local") // local-kms needs go 1.20; never fetch a toolchain
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", false, fmt.Errorf("go install %s@%s: %w\n%s", LocalKMSModule, LocalKMSVersion, err, out)
	}
	if err := os.Rename(filepath.Join(gobin, exe), bin); err != nil {
		return "", false, err
	}
	return bin, true, nil
}

// findGo finds the go command: $GOROOT/bin/go when GOROOT is set (go test
// sets it for the test binary), else go from PATH.
func findGo() (string, error) {
	exe := "go"
	if runtime.GOOS == "windows" {
		exe = "go.exe"
	}
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", exe); isFile(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("go not found (in $GOROOT/bin or on PATH) to build local-kms")
	}
	return p, nil
}

// startedRE finds the port in local-kms's start-up log line, "Local KMS
// started on 0.0.0.0:PORT", through the terminal colour codes it adds.
var startedRE = regexp.MustCompile(`Local KMS started on \S*:(\d+)`)

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// runLocalKMS runs bin with PORT=0 and reads the port it bound from its log.
// local-kms cannot be told to bind loopback only: it listens on every
// interface, on that random port, for as long as the tests run.
func runLocalKMS(ctx context.Context, bin string, ready time.Duration) (*LocalKMS, error) {
	data, err := os.MkdirTemp("", "dynaseal-local-kms-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Dir = data
	cmd.Env = append(os.Environ(),
		"PORT=0",
		"KMS_ACCOUNT_ID="+LocalKMSAccount,
		"KMS_REGION="+LocalKMSRegion,
		"KMS_DATA_PATH="+filepath.Join(data, "db"),
		// An explicit path that holds no seed: start empty, never read /init.
		"KMS_SEED_PATH="+filepath.Join(data, "no-seed.yaml"))
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.WaitDelay = 5 * time.Second
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(data)
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(exited)
	}()
	out := &tailBuffer{limit: 16 << 10}
	portc := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			line := ansiRE.ReplaceAllString(s.Text(), "")
			out.Write([]byte(line + "\n"))
			if m := startedRE.FindStringSubmatch(line); m != nil {
				select {
				case portc <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr) // keep the child from blocking on a full pipe
	}()
	stop := func() error {
		defer os.RemoveAll(data)
		select {
		case <-exited:
			return nil
		default:
		}
		if err := killTree(cmd); err != nil {
			return err
		}
		<-exited
		return nil
	}
	fail := func(err error) (*LocalKMS, error) {
		stop()
		return nil, fmt.Errorf("%s: %w\nlocal-kms output:\n%s", bin, err, out.String())
	}
	timer := time.NewTimer(ready)
	defer timer.Stop()
	var port string
	select {
	case port = <-portc:
	case <-exited:
		return fail(errors.New("exited before listening"))
	case <-timer.C:
		return fail(fmt.Errorf("no port in its log after %v", ready))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if _, err := strconv.Atoi(port); err != nil {
		return fail(fmt.Errorf("bad port %q", port))
	}
	endpoint := "http://127.0.0.1:" + port
	if err := waitKMSReady(ctx, endpoint, ready, exited); err != nil {
		return fail(err)
	}
	return &LocalKMS{instance{endpoint: endpoint, source: SourceGoInstall, stop: stop}}, nil
}

// runLocalKMSContainer starts LocalKMSImage; a testcontainers-go panic
// becomes an error so the launcher can fall through to go install.
func runLocalKMSContainer(ctx context.Context) (k *LocalKMS, err error) {
	var ctr *testcontainers.DockerContainer
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("testcontainers-go panicked: %v", r)
		}
		if err != nil && ctr != nil {
			_ = testcontainers.TerminateContainer(ctr)
		}
	}()
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts("8080/tcp"),
		testcontainers.WithEnv(map[string]string{
			"PORT": "8080", "KMS_ACCOUNT_ID": LocalKMSAccount, "KMS_REGION": LocalKMSRegion,
			"KMS_DATA_PATH": "/data", "KMS_SEED_PATH": "/init/none.yaml",
		}),
		testcontainers.WithWaitStrategy(wait.ForListeningPort("8080/tcp")),
	}
	if os.Getenv(EnvVerbose) == "" {
		opts = append([]testcontainers.ContainerCustomizer{testcontainers.WithLogger(quietLogger{})}, opts...)
	}
	ctr, err = testcontainers.Run(ctx, LocalKMSImage, opts...)
	if err != nil {
		return nil, err
	}
	hostPort, err := ctr.PortEndpoint(ctx, "8080/tcp", "http")
	if err != nil {
		return nil, err
	}
	return &LocalKMS{instance{
		endpoint: hostPort,
		source:   SourceDocker,
		detail:   LocalKMSImage,
		stop:     func() error { return testcontainers.TerminateContainer(ctr) },
	}}, nil
}

// waitKMSReady polls ListKeys until the endpoint answers.
func waitKMSReady(ctx context.Context, endpoint string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := NewKMSClient(endpoint, func(o *kms.Options) { o.RetryMaxAttempts = 1 })
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.ListKeys(attemptCtx, &kms.ListKeysInput{Limit: aws.Int32(1)})
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

// NewKMSClient returns an aws-sdk-go-v2 KMS client for a local KMS at
// endpoint: region LocalKMSRegion and static dummy credentials, so nothing
// from the environment is used. optFns adjust the options further.
func NewKMSClient(endpoint string, optFns ...func(*kms.Options)) *kms.Client {
	return kms.New(kms.Options{
		Region:       LocalKMSRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("dynaseal", "dynaseal", ""),
	}, optFns...)
}

// sharedKMS is the process-wide local-kms behind SharedLocalKMS.
var sharedKMS = sharedInstance[*LocalKMS]{what: "local-kms"}

// SharedLocalKMS returns the process-wide local-kms, starting it on first
// use; Main stops it. A failure is remembered unless ctx ended the attempt.
func SharedLocalKMS(ctx context.Context) (*LocalKMS, error) {
	return sharedKMS.get(ctx, StartLocalKMS)
}

// LocalKMSEndpoint returns the URL of the shared local-kms. When it cannot
// start, the test fails if $CI is true and is skipped otherwise.
func LocalKMSEndpoint(t testing.TB) string {
	t.Helper()
	return sharedEndpoint(t, "local-kms", SharedLocalKMS)
}

// LocalKMSClient returns a KMS client for the shared local-kms, failing or
// skipping as LocalKMSEndpoint does.
func LocalKMSClient(t testing.TB) *kms.Client {
	t.Helper()
	return NewKMSClient(LocalKMSEndpoint(t))
}

func (e *StartError) localKMSError() string {
	var b strings.Builder
	b.WriteString("itest: cannot start local-kms; tried:")
	for _, a := range e.Attempts {
		fmt.Fprintf(&b, "\n  - %s: %s", a.Path, indent(a.Err.Error()))
	}
	b.WriteString("\nTo fix, do one of:" +
		"\n  - have Go and the Go module proxy reachable: the tests then build " + LocalKMSModule + "@" + LocalKMSVersion + " once;" +
		"\n  - start a Docker engine: the tests then run " + LocalKMSImage + ";" +
		"\n  - run local-kms yourself (region " + LocalKMSRegion + ", account " + LocalKMSAccount + ") and set " + EnvLocalKMSEndpoint + "=http://localhost:8080.")
	return b.String()
}
