package tenantkeys_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/uuid"

	"github.com/dynaseal/dynaseal/itest"
)

// kmsServer is one KMS the wrapper suite runs against, set up through the
// KMS API only so that both servers get the same requests.
type kmsServer struct {
	name     string
	endpoint string
	client   *kms.Client
	// prefix keeps alias names apart on the shared local-kms, which lives
	// as long as the test process.
	prefix string
}

// onEachKMS runs f against a fresh kmslocal and against local-kms, an
// independent emulator (skipped locally, failing with CI=true, when it
// cannot start). Properties local-kms does not have (CONFORMANCE.md) stay
// in tests that use kmslocal alone.
func onEachKMS(t *testing.T, f func(t *testing.T, s *kmsServer)) {
	t.Run("kmslocal", func(t *testing.T) {
		srv := startKMS(t)
		f(t, &kmsServer{name: "kmslocal", endpoint: srv.URL(), client: srv.Client(), prefix: "alias/"})
	})
	t.Run("local-kms", func(t *testing.T) {
		ep := itest.LocalKMSEndpoint(t)
		f(t, &kmsServer{name: "local-kms", endpoint: ep, client: itest.NewKMSClient(ep), prefix: "alias/" + uuid.NewString()[:8] + "-"})
	})
}

// createKey creates a symmetric key and returns its key id and ARN.
func (s *kmsServer) createKey(t *testing.T, desc string) (id, arn string) {
	t.Helper()
	out, err := s.client.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String(desc)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyMetadata.KeyId), aws.ToString(out.KeyMetadata.Arn)
}

// alias points s.prefix+name at keyID and returns the full alias name.
func (s *kmsServer) alias(t *testing.T, name, keyID string) string {
	t.Helper()
	full := s.prefix + name
	if _, err := s.client.CreateAlias(context.Background(), &kms.CreateAliasInput{AliasName: aws.String(full), TargetKeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	return full
}
