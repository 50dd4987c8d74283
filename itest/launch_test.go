package itest_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynaseal/dynaseal/itest"
)

// TestStartDynamoDBAndClose starts a second, private instance next to the
// shared one and checks that Close stops it.
func TestStartDynamoDBAndClose(t *testing.T) {
	itest.DynamoDB(t) // the usual skip-or-fail when nothing can start
	if os.Getenv(itest.EnvEndpoint) != "" {
		t.Skip("DYNAMODB_ENDPOINT is set: StartDynamoDB returns it and Close stops nothing")
	}
	d, err := itest.StartDynamoDB(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started %v", d)
	shared, _ := itest.Shared(t.Context())
	if d.Endpoint() == shared.Endpoint() {
		t.Errorf("StartDynamoDB returned the shared endpoint %s", d.Endpoint())
	}
	c := itest.NewDynamoDBClient(d.Endpoint())
	if _, err := c.ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	waitGone(t, d.Endpoint(), 10*time.Second)
}

// TestJavaDiesWithItsParent kills (SIGKILL) a process that started DynamoDB
// Local with Java, so no Close or Main runs, and checks that java goes too.
func TestJavaDiesWithItsParent(t *testing.T) {
	if os.Getenv("ITEST_HELPER_START") != "" {
		helperStartAndHang()
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux only")
	}
	itest.DynamoDB(t)
	if shared, _ := itest.Shared(t.Context()); shared.Source() != itest.SourceJava {
		t.Skipf("this process got DynamoDB Local from %s, not java", shared.Source())
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestJavaDiesWithItsParent$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ITEST_HELPER_START=1", itest.EnvLauncher+"=java")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	var endpoint string
	for lines.Scan() {
		if ep, ok := strings.CutPrefix(lines.Text(), "ENDPOINT "); ok {
			endpoint = ep
			break
		}
	}
	if endpoint == "" {
		t.Fatal("helper printed no endpoint")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code runs in the helper
		t.Fatal(err)
	}
	waitGone(t, endpoint, 10*time.Second)
}

func helperStartAndHang() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := itest.StartDynamoDB(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("ENDPOINT %s\n", d.Endpoint())
	time.Sleep(time.Minute)
	os.Exit(3) // not reached when the parent test kills us
}

// waitGone fails the test unless nothing accepts connections at endpoint
// within d.
func waitGone(t *testing.T, endpoint string, d time.Duration) {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(d)
	for {
		conn, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections %v after its owner went", endpoint, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
