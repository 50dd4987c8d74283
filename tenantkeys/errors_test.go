package tenantkeys_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// marker is put in every canned message; it must never reach an error
// string.
const marker = "MARKER-7f3c-secret-response-text"

// canned is one HTTP answer of a service.
type canned struct {
	name   string
	status int
	code   string // "" for an empty body
	want   []error
}

func cannedServer(t *testing.T, c canned, contentType string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-RequestId", marker)
		if c.code == "" {
			w.WriteHeader(c.status)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(c.status)
		_, _ = w.Write([]byte(`{"__type":"` + c.code + `","message":"` + marker + `","Message":"` + marker + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func checkErr(t *testing.T, what string, err error, want []error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("%s: err = %v, want errors.Is %v", what, err, w)
		}
	}
	if strings.Contains(err.Error(), marker) {
		t.Errorf("%s: error string carries response text: %v", what, err)
	}
}

func oneAttempt() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1 })
}

// TestKMSErrorShapes feeds every KMS answer shape the key path can meet,
// through the real KMS client, and checks the sentinel and that no response
// text reaches the error.
func TestKMSErrorShapes(t *testing.T) {
	cases := []canned{
		{"500 InternalFailure", 500, "InternalFailureException", []error{tenantkeys.ErrKMSUnavailable}},
		{"500 InternalFailure bare", 500, "InternalFailure", []error{tenantkeys.ErrKMSUnavailable}},
		{"500 KMSInternal", 500, "KMSInternalException", []error{tenantkeys.ErrKMSUnavailable}},
		{"502 empty", 502, "", []error{tenantkeys.ErrKMSUnavailable}},
		{"504 empty", 504, "", []error{tenantkeys.ErrKMSUnavailable}},
		{"503 ServiceUnavailable", 503, "ServiceUnavailable", []error{tenantkeys.ErrKMSUnavailable}},
		{"503 ServiceUnavailableException", 503, "ServiceUnavailableException", []error{tenantkeys.ErrKMSUnavailable}},
		{"400 Throttling", 400, "ThrottlingException", []error{tenantkeys.ErrKMSUnavailable}},
		{"400 unknown code", 400, "BrandNewException", []error{tenantkeys.ErrKMSUnavailable}},
		{"400 Validation", 400, "ValidationException", []error{tenantkeys.ErrKeyCorrupt}},
		{"400 InvalidCiphertext", 400, "InvalidCiphertextException", []error{tenantkeys.ErrKeyCorrupt}},
		{"400 IncorrectKey", 400, "IncorrectKeyException", []error{tenantkeys.ErrUntrustedKey}},
		{"400 UnrecognizedClient", 400, "UnrecognizedClientException", []error{tenantkeys.ErrAccessDenied}},
		{"400 InvalidSignature", 400, "InvalidSignatureException", []error{tenantkeys.ErrAccessDenied}},
		{"400 AccessDenied", 400, "AccessDeniedException", []error{tenantkeys.ErrAccessDenied}},
		{"400 InvalidKeyUsage", 400, "InvalidKeyUsageException", []error{tenantkeys.ErrAccessDenied}},
		{"400 Disabled", 400, "DisabledException", []error{tenantkeys.ErrKeyDisabled}},
		{"400 KMSInvalidState", 400, "KMSInvalidStateException", []error{tenantkeys.ErrKeyDisabled}},
		{"400 NotFound", 400, "NotFoundException", []error{tenantkeys.ErrKeyNotFound}},
		{"400 InvalidArn", 400, "InvalidArnException", []error{tenantkeys.ErrKeyNotFound}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := cannedServer(t, c, "application/x-amz-json-1.1")
			client := kms.New(kms.Options{
				Region:       "us-east-1",
				BaseEndpoint: aws.String(srv.URL),
				Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
				Retryer:      oneAttempt(),
			})
			w := tenantkeys.NewKMSWrapper(client, tenantkeys.SharedKey("1234abcd-12ab-34cd-56ef-1234567890ab"))
			_, err := w.Unwrap(context.Background(), ref("acme", "", 1), tenantkeys.Wrapped{Blob: []byte("blob")})
			checkErr(t, "Decrypt", err, c.want)
			if c.code == "ValidationException" || c.code == "InvalidCiphertextException" {
				return // Decrypt-only meanings
			}
			_, _, err = w.GenerateKey(context.Background(), ref("acme", "", 1))
			checkErr(t, "GenerateDataKey", err, c.want)
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		client := kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), Retryer: oneAttempt()})
		w := tenantkeys.NewKMSWrapper(client, tenantkeys.SharedKey("k"))
		_, err := w.Unwrap(context.Background(), ref("acme", "", 1), tenantkeys.Wrapped{Blob: []byte("blob")})
		checkErr(t, "Decrypt", err, []error{tenantkeys.ErrKMSUnavailable})
	})
}

// TestKeyStoreErrorShapes does the same for the key store's DynamoDB calls.
func TestKeyStoreErrorShapes(t *testing.T) {
	unavailable := []error{tenantkeys.ErrKeyStoreUnavailable}
	cases := []canned{
		{"missing table", 400, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", unavailable},
		{"throughput exceeded", 400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", unavailable},
		{"throttling", 400, "ThrottlingException", unavailable},
		{"request limit", 400, "RequestLimitExceeded", unavailable},
		{"500 InternalServerError", 500, "InternalServerError", unavailable},
		{"502 empty", 502, "", unavailable},
		{"504 empty", 504, "", unavailable},
		{"503 ServiceUnavailable", 503, "ServiceUnavailable", unavailable},
		{"validation", 400, "ValidationException", unavailable},
		{"access denied", 400, "AccessDeniedException", []error{tenantkeys.ErrKeyStoreUnavailable, tenantkeys.ErrAccessDenied}},
		{"unrecognized client", 400, "UnrecognizedClientException", []error{tenantkeys.ErrKeyStoreUnavailable, tenantkeys.ErrAccessDenied}},
	}
	ops := map[string]func(s *tenantkeys.Store) error{
		"CurrentKey": func(s *tenantkeys.Store) error { _, err := s.CurrentKey(context.Background(), "acme", ""); return err },
		"Key":        func(s *tenantkeys.Store) error { _, err := s.Key(context.Background(), ref("acme", "", 1)); return err },
		"Versions":   func(s *tenantkeys.Store) error { _, err := s.Versions(context.Background(), "acme", ""); return err },
		"Shred":      func(s *tenantkeys.Store) error { return s.Shred(context.Background(), "acme") },
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := cannedServer(t, c, "application/x-amz-json-1.0")
			client := itest.NewDynamoDBClient(srv.URL, func(o *dynamodb.Options) { o.Retryer = oneAttempt() })
			s := tenantkeys.NewDynamoDBStore(client, "keys", testKeyring(t))
			for name, op := range ops {
				checkErr(t, name, op(s), c.want)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		client := itest.NewDynamoDBClient(url, func(o *dynamodb.Options) { o.Retryer = oneAttempt() })
		s := tenantkeys.NewDynamoDBStore(client, "keys", testKeyring(t))
		for name, op := range ops {
			checkErr(t, name, op(s), unavailable)
		}
	})
	t.Run("missing table on DynamoDB Local", func(t *testing.T) {
		s := tenantkeys.NewDynamoDBStore(itest.DynamoDB(t), "no-such-key-table", testKeyring(t))
		for name, op := range ops {
			checkErr(t, name, op(s), unavailable)
		}
	})
}
