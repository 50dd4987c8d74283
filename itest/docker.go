package itest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcdynamodb "github.com/testcontainers/testcontainers-go/modules/dynamodb"
)

// probeDocker answers cheaply whether a Docker engine is worth handing to
// testcontainers-go, which panics ("rootless Docker not found") or waits on
// timeouts when there is none. It looks where testcontainers-go looks:
// $DOCKER_HOST, ~/.testcontainers.properties, and the usual socket paths,
// and pings the sockets it finds.
func probeDocker(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		u, err := url.Parse(h)
		if err != nil {
			return fmt.Errorf("DOCKER_HOST=%s: %w", h, err)
		}
		switch u.Scheme {
		case "unix":
			if err := pingSocket(ctx, u.Path); err != nil {
				return fmt.Errorf("DOCKER_HOST=%s: %w", h, err)
			}
		case "tcp":
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", u.Host)
			if err != nil {
				return fmt.Errorf("DOCKER_HOST=%s: %w", h, err)
			}
			conn.Close()
		}
		return nil // other schemes (ssh, npipe): let testcontainers-go try
	}
	if tcPropertiesNameHost() {
		return nil
	}
	if runtime.GOOS == "windows" {
		return nil // named pipes: let testcontainers-go try
	}
	var tried []string
	for _, sock := range dockerSockets() {
		err := pingSocket(ctx, sock)
		if err == nil {
			return nil
		}
		tried = append(tried, err.Error())
	}
	return fmt.Errorf("no Docker engine answers (DOCKER_HOST not set; %s)", strings.Join(tried, "; "))
}

// dockerSockets lists the socket paths testcontainers-go would try.
func dockerSockets() []string {
	socks := []string{"/var/run/docker.sock"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		socks = append(socks, filepath.Join(d, "docker.sock"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		socks = append(socks,
			filepath.Join(home, ".docker", "run", "docker.sock"),
			filepath.Join(home, ".docker", "desktop", "docker.sock"))
	}
	if uid := os.Getuid(); uid >= 0 {
		socks = append(socks, "/run/user/"+strconv.Itoa(uid)+"/docker.sock")
	}
	return socks
}

// tcPropertiesNameHost reports whether ~/.testcontainers.properties names a
// Docker host; testcontainers-go then knows better than the probe.
func tcPropertiesNameHost() bool {
	home, err := os.UserHomeDir()
	if err != nil {
		return false
	}
	f, err := os.Open(filepath.Join(home, ".testcontainers.properties"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, _, _ := strings.Cut(strings.TrimSpace(s.Text()), "=")
		if k = strings.TrimSpace(k); k == "tc.host" || k == "docker.host" {
			return true
		}
	}
	return false
}

// pingSocket sends GET /_ping to a Docker engine on a unix socket.
func pingSocket(ctx context.Context, sock string) error {
	if _, err := os.Stat(sock); err != nil {
		return fmt.Errorf("%s: %w", sock, errors.Unwrap(err))
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", sock, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: /_ping answered %s", sock, resp.Status)
	}
	return nil
}

// runTestcontainers starts DockerImage in memory. testcontainers-go panics on
// some hosts without a usable engine; the panic becomes an error so the
// launcher can fall through to Java.
func runTestcontainers(ctx context.Context) (d *DynamoDBLocal, err error) {
	var ctr *tcdynamodb.DynamoDBContainer
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("testcontainers-go panicked: %v", r)
		}
		if err != nil && ctr != nil {
			_ = testcontainers.TerminateContainer(ctr)
		}
	}()
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithCmdArgs("-inMemory", "-sharedDb"),
		tcdynamodb.WithDisableTelemetry(),
	}
	if os.Getenv(EnvVerbose) == "" {
		opts = append([]testcontainers.ContainerCustomizer{testcontainers.WithLogger(quietLogger{})}, opts...)
	}
	ctr, err = tcdynamodb.Run(ctx, DockerImage, opts...)
	if err != nil {
		return nil, err
	}
	hostPort, err := ctr.ConnectionString(ctx)
	if err != nil {
		return nil, err
	}
	return &DynamoDBLocal{instance{
		endpoint: "http://" + hostPort,
		source:   SourceDocker,
		detail:   DockerImage,
		stop:     func() error { return testcontainers.TerminateContainer(ctr) },
	}}, nil
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
