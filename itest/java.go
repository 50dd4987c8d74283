package itest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const minJavaMajor = 17 // DynamoDB Local 2.3.0 and later need JDK 17

// findJava returns $JAVA_HOME/bin/java when JAVA_HOME is set, else java from
// PATH, and checks that it is Java 17 or later.
func findJava(ctx context.Context, getenv func(string) string) (string, error) {
	var java string
	if home := getenv("JAVA_HOME"); home != "" {
		exe := "java"
		if runtime.GOOS == "windows" {
			exe = "java.exe"
		}
		if p := filepath.Join(home, "bin", exe); isFile(p) {
			java = p
		}
	}
	if java == "" {
		p, err := exec.LookPath("java")
		if err != nil {
			return "", errors.New("java not found on PATH or in $JAVA_HOME/bin")
		}
		java = p
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, java, "-version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s -version: %w\n%s", java, err, out)
	}
	major, err := javaMajor(string(out))
	if err != nil {
		return "", fmt.Errorf("%s -version: %w", java, err)
	}
	if major < minJavaMajor {
		return "", fmt.Errorf("%s is Java %d; DynamoDB Local needs Java %d or later", java, major, minJavaMajor)
	}
	return java, nil
}

var javaVersionRE = regexp.MustCompile(`version "([^"]+)"`)

// javaMajor reads the major version from `java -version` output:
// `openjdk version "17.0.15" ...` is 17, `java version "1.8.0_402"` is 8.
func javaMajor(versionOutput string) (int, error) {
	m := javaVersionRE.FindStringSubmatch(versionOutput)
	if m == nil {
		return 0, fmt.Errorf("no version in %q", strings.TrimSpace(versionOutput))
	}
	v := strings.TrimPrefix(m[1], "1.") // pre-9 scheme: 1.<major>.<minor>
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		v = v[:end]
	}
	major, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("unparsable Java version %q", m[1])
	}
	return major, nil
}

// javaFlags favour start-up time and a small footprint over peak speed:
// `go test ./...` may run one DynamoDB Local per test package at once, and
// each only lives as long as its package's tests.
var javaFlags = []string{"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss1m"}

// startJava runs DynamoDB Local from the unpacked npm package on a free
// loopback port and waits until it answers.
func startJava(ctx context.Context, java string, files dynamoDBLocalFiles, ready time.Duration) (*DynamoDBLocal, error) {
	var lastErr error
	for range 3 { // a free port can be taken between picking and binding it
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		d, err := startJavaOn(ctx, java, files, port, ready)
		if err == nil {
			return d, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, lastErr
}

var errPortTaken = errors.New("port already in use")

func startJavaOn(ctx context.Context, java string, files dynamoDBLocalFiles, port int, ready time.Duration) (*DynamoDBLocal, error) {
	args := append([]string{}, javaFlags...)
	args = append(args,
		"-Djava.library.path="+files.libDir,
		"-jar", files.jar,
		"-inMemory", "-sharedDb", "-disableTelemetry",
		"-port", strconv.Itoa(port))
	cmd := exec.Command(java, args...)
	cmd.Dir = files.dir
	out := &tailBuffer{limit: 32 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() error {
		select {
		case <-exited:
			return nil // already gone
		default:
		}
		if err := killTree(cmd); err != nil {
			return err
		}
		<-exited
		return nil
	}

	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	err := waitReady(ctx, endpoint, ready, exited)
	if err == nil {
		select {
		case <-exited: // something else answered on the port java failed to bind
			err = errors.New("exited after the port answered")
		default:
		}
	}
	if err != nil {
		select {
		case <-exited: // it died on its own: say how
			if strings.Contains(out.String(), "Address already in use") {
				return nil, fmt.Errorf("%w: %d", errPortTaken, port)
			}
			err = fmt.Errorf("%w: %v", err, waitErr)
		default:
			stop()
		}
		return nil, fmt.Errorf("%s -jar %s: %w\njava output:\n%s", java, files.jar, err, out.String())
	}
	return &DynamoDBLocal{instance{endpoint: endpoint, source: SourceJava, stop: stop}}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func isFile(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}
