package itest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testLauncher has no Docker, no endpoint, and an empty cache.
func testLauncher(t *testing.T, env map[string]string) *launcher {
	return &launcher{
		getenv:   func(k string) string { return env[k] },
		cacheDir: func() (string, error) { return t.TempDir(), nil },
		docker:   func(context.Context) error { return errors.New("no Docker engine answers (test)") },
		runTC: func(context.Context) (*DynamoDBLocal, error) {
			t.Error("testcontainers called though Docker did not answer")
			return nil, errors.New("unreachable")
		},
		npm:      defaultNPMSource,
		ready:    time.Second,
		external: 200 * time.Millisecond,
		logf:     t.Logf,
	}
}

func TestStartErrorWhenNothingWorks(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no java, no npm
	_, err := testLauncher(t, nil).start(t.Context())
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *StartError", err)
	}
	if len(se.Attempts) != 3 {
		t.Errorf("%d attempts, want 3 (endpoint, Docker, Java)", len(se.Attempts))
	}
	msg := err.Error()
	t.Logf("the message a user sees:\n%s", msg)
	for _, want := range []string{
		"cannot start DynamoDB Local",
		"DYNAMODB_ENDPOINT: not set",
		"Docker: no Docker engine answers",
		"Java: java not found on PATH or in $JAVA_HOME/bin",
		"install Java 17+ and npm (Node.js)",
		"start a Docker engine",
		"amazon/dynamodb-local:3.3.0",
		"set DYNAMODB_ENDPOINT=http://localhost:8000",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q", want)
		}
	}
}

func TestStartErrorForOldJava(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("fake java is a shell script")
	}
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	java := "#!/bin/sh\necho 'java version \"1.8.0_402\"' >&2\n"
	if err := os.WriteFile(filepath.Join(home, "bin", "java"), []byte(java), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := testLauncher(t, map[string]string{"JAVA_HOME": home}).start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "is Java 8; DynamoDB Local needs Java 17 or later") {
		t.Errorf("err = %v, want it to name Java 8 and 17", err)
	}
}

func TestEndpointThatDoesNotAnswer(t *testing.T) {
	port, err := freePort() // nothing listens there now
	if err != nil {
		t.Fatal(err)
	}
	ep := "http://127.0.0.1:" + strconv.Itoa(port)
	_, err = testLauncher(t, map[string]string{EnvEndpoint: ep}).start(t.Context())
	var se *StartError
	if !errors.As(err, &se) || len(se.Attempts) != 1 {
		t.Fatalf("err = %v, want a StartError with only the endpoint attempt (no fall-through)", err)
	}
	for _, want := range []string{"DYNAMODB_ENDPOINT=" + ep + " does not answer", "unset DYNAMODB_ENDPOINT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
}

func TestLauncherChoice(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := testLauncher(t, map[string]string{EnvLauncher: "docker"}).start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "Java: skipped: DYNASEAL_ITEST_LAUNCHER=docker") {
		t.Errorf("launcher=docker: %v", err)
	}
	_, err = testLauncher(t, map[string]string{EnvLauncher: "podman"}).start(t.Context())
	if err == nil || !strings.Contains(err.Error(), `DYNASEAL_ITEST_LAUNCHER="podman"`) {
		t.Errorf("launcher=podman: %v", err)
	}
}

func TestJavaMajor(t *testing.T) {
	for out, want := range map[string]int{
		`openjdk version "17.0.15" 2025-04-15`:                            17,
		`openjdk version "21" 2023-09-19`:                                 21,
		`java version "1.8.0_402"`:                                        8,
		`openjdk version "25-ea" 2025-09-16`:                              25,
		"Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version \"11.0.2\"": 11,
	} {
		got, err := javaMajor(out)
		if err != nil || got != want {
			t.Errorf("javaMajor(%q) = %d, %v; want %d", out, got, err, want)
		}
	}
	if _, err := javaMajor("command not found"); err == nil {
		t.Error("javaMajor accepted output without a version")
	}
}

// TestTestcontainersWithoutDockerIsAnError checks that testcontainers-go's
// panic on a machine without Docker comes back as an error.
func TestTestcontainersWithoutDockerIsAnError(t *testing.T) {
	if probeDocker(t.Context()) == nil {
		t.Skip("a Docker engine answers here")
	}
	t.Setenv("DOCKER_HOST", "")
	d, err := runTestcontainers(t.Context())
	if err == nil {
		d.Close()
		t.Fatal("testcontainers started DynamoDB Local without Docker")
	}
	t.Logf("testcontainers-go without Docker: %v", err)
}
