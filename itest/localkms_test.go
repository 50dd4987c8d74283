package itest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// testKMSLauncher has no Docker and no endpoint; build is the real one
// unless replaced.
func testKMSLauncher(t *testing.T, env map[string]string) *kmsLauncher {
	l := defaultKMSLauncher()
	l.getenv = func(k string) string { return env[k] }
	l.docker = func(context.Context) error { return errors.New("no Docker engine answers (test)") }
	l.runTC = func(context.Context) (*LocalKMS, error) {
		t.Error("testcontainers called though Docker did not answer")
		return nil, errors.New("unreachable")
	}
	l.logf = t.Logf
	return l
}

func TestLocalKMSStartErrorWhenNothingWorks(t *testing.T) {
	l := testKMSLauncher(t, nil)
	l.build = func(context.Context, string) (string, bool, error) {
		return "", false, errors.New("go not found (test)")
	}
	_, err := l.start(t.Context())
	var se *StartError
	if !errors.As(err, &se) || len(se.Attempts) != 3 {
		t.Fatalf("err = %v, want *StartError with 3 attempts", err)
	}
	for _, want := range []string{"cannot start local-kms", "LOCAL_KMS_ENDPOINT: not set", "Docker: no Docker engine", "go install: go not found", LocalKMSImage, LocalKMSVersion} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%s", want, err)
		}
	}
}

func TestLocalKMSEndpointNotAnswering(t *testing.T) {
	l := testKMSLauncher(t, map[string]string{EnvLocalKMSEndpoint: "http://127.0.0.1:1"})
	l.ready = 300 * time.Millisecond
	l.build = func(context.Context, string) (string, bool, error) {
		t.Error("built though an endpoint was given")
		return "", false, errors.New("unreachable")
	}
	_, err := l.start(t.Context())
	var se *StartError
	if !errors.As(err, &se) || len(se.Attempts) != 1 || se.Attempts[0].Path != EnvLocalKMSEndpoint {
		t.Fatalf("err = %v, want one attempt, the endpoint", err)
	}
}

// TestLocalKMSGoInstallPath builds (or reuses) the pinned local-kms, runs
// two instances, and checks that the second start reuses the binary, that
// each instance has its own data, and that Close stops the process.
func TestLocalKMSGoInstallPath(t *testing.T) {
	if testing.Short() {
		t.Skip("builds local-kms")
	}
	l := testKMSLauncher(t, nil)
	var builtFlags []bool
	l.build = func(ctx context.Context, cache string) (string, bool, error) {
		bin, built, err := buildLocalKMS(ctx, cache)
		builtFlags = append(builtFlags, built)
		return bin, built, err
	}
	began := time.Now()
	k1, err := l.start(t.Context())
	if err != nil {
		skipOrFail(t, err)
	}
	defer k1.Close()
	first := time.Since(began)
	began = time.Now()
	k2, err := l.start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer k2.Close()
	warm := time.Since(began)
	t.Logf("first start %v (built: %v), second start %v: %s", first, builtFlags[0], warm, k2)
	if builtFlags[1] {
		t.Error("the second start built local-kms again")
	}
	if k1.Source() != SourceGoInstall || k1.Endpoint() == k2.Endpoint() {
		t.Fatalf("sources %s/%s endpoints %s/%s", k1.Source(), k2.Source(), k1.Endpoint(), k2.Endpoint())
	}

	ctx := t.Context()
	c1, c2 := NewKMSClient(k1.Endpoint()), NewKMSClient(k2.Endpoint())
	ck, err := c1.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(ck.KeyMetadata.Arn)
	if want := "arn:aws:kms:" + LocalKMSRegion + ":" + LocalKMSAccount + ":key/"; !strings.HasPrefix(arn, want) {
		t.Errorf("key ARN %s, want prefix %s", arn, want)
	}
	enc, err := c1.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := c1.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || !bytes.Equal(dec.Plaintext, []byte("x")) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := c2.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)}); err == nil {
		t.Error("second instance knows the first one's key: shared data directory")
	}

	if err := k1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := waitKMSReady(ctx, k1.Endpoint(), 200*time.Millisecond, nil); err == nil {
		t.Error("endpoint still answers after Close")
	}
}

func skipOrFail(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	if _, lerr := exec.LookPath("go"); lerr != nil {
		t.Skip(err)
	}
	t.Fatal(err)
}
