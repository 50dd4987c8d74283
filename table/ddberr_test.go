package table_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/table"
)

// errMarker is planted in every canned DynamoDB answer; no error of the
// table package may carry it.
const errMarker = "MARKER-SECRET-1990-01-01"

// cannedAnswer is one HTTP answer of the fake DynamoDB endpoint.
type cannedAnswer struct {
	name   string
	status int
	code   string // x-amz-json __type; "" sends body as is
	body   string
	want   error
}

func cannedAnswers() []cannedAnswer {
	msg := "One or more parameter values were invalid: " + errMarker
	return []cannedAnswer{
		{"validation", 400, "com.amazonaws.dynamodb.v20120810#ValidationException", msg, table.ErrInvalidRequest},
		{"serialization", 400, "com.amazon.coral.service#SerializationException", msg, table.ErrInvalidRequest},
		{"resource not found", 400, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "Requested resource not found: " + errMarker, table.ErrNoTable},
		{"provisioned throughput", 400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", msg, table.ErrUnavailable},
		{"throttling", 400, "com.amazon.coral.availability#ThrottlingException", msg, table.ErrUnavailable},
		{"request limit", 400, "com.amazonaws.dynamodb.v20120810#RequestLimitExceeded", msg, table.ErrUnavailable},
		{"internal server error", 500, "com.amazonaws.dynamodb.v20120810#InternalServerError", msg, table.ErrUnavailable},
		{"internal failure, unmodelled", 500, "com.amazon.coral.service#InternalFailureException", msg, table.ErrUnavailable},
		{"bad gateway, empty body", 502, "", "", table.ErrUnavailable},
		{"service unavailable", 503, "com.amazon.coral.availability#ServiceUnavailable", msg, table.ErrUnavailable},
		{"gateway timeout, html", 504, "", "<html><body>" + errMarker + "</body></html>", table.ErrUnavailable},
		{"access denied", 400, "com.amazon.coral.service#AccessDeniedException", msg, table.ErrAccessDenied},
		{"unrecognized client", 400, "com.amazon.coral.service#UnrecognizedClientException", msg, table.ErrAccessDenied},
		{"invalid signature", 400, "com.amazon.coral.service#InvalidSignatureException", msg, table.ErrAccessDenied},
		{"item collection too large", 400, "com.amazonaws.dynamodb.v20120810#ItemCollectionSizeLimitExceededException", msg, table.ErrRequestFailed},
		{"unknown code", 400, "com.amazonaws.dynamodb.v20120810#SomethingNewException", msg, table.ErrRequestFailed},
	}
}

// fakeDynamoDB serves a on every request.
func fakeDynamoDB(t *testing.T, a cannedAnswer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", "REQ123")
		body := a.body
		if a.code != "" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.Header().Set("x-amzn-ErrorType", a.code)
			body = fmt.Sprintf(`{"__type":%q,"message":%q}`, a.code, a.body)
		}
		w.WriteHeader(a.status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// oneShot is a real SDK client for endpoint that does not retry, so each
// canned answer is seen once.
func oneShot(endpoint string) *dynamodb.Client { return oneShotTimeout(endpoint, 10*time.Second) }

// oneShotTimeout is oneShot with an HTTP client timeout.
func oneShotTimeout(endpoint string, timeout time.Duration) *dynamodb.Client {
	return itest.NewDynamoDBClient(endpoint, func(o *dynamodb.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = &http.Client{Timeout: timeout}
	})
}

// tableCalls runs every table operation that reaches DynamoDB and returns
// each one's error.
func tableCalls(ctx context.Context, t *testing.T, c *dynamodb.Client) map[string]error {
	t.Helper()
	tb, err := table.New[Patient](c, "fake", newStore(t), table.WithBatchRetry(1, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s := tb.For("tenant-a")
	p := &Patient{Tenant: "tenant-a", ID: "p1", Name: errMarker, SSN: errMarker, Plan: errMarker}
	out := map[string]error{}
	_, out["Get"] = s.Get(ctx, sk("p1"))
	out["Put"] = s.Put(ctx, p)
	out["Create"] = s.Create(ctx, p)
	out["Delete"] = s.Delete(ctx, sk("p1"))
	_, out["Update"] = s.Update(ctx, sk("p1"), func(*Patient) error { return nil })
	var qerr error
	for _, err := range s.Query(ctx, table.QueryInput{}) {
		qerr = err
	}
	out["Query"] = qerr
	_, out["QueryPage"] = s.QueryPage(ctx, table.QueryInput{PageSize: 1})
	var serr error
	for _, err := range tb.Scan(ctx, table.ScanInput{}) {
		serr = err
	}
	out["Scan"] = serr
	_, out["Reseal"] = tb.Reseal(ctx, table.ScanInput{})
	_, out["BatchGet"] = s.BatchGet(ctx, []table.Key{sk("p1")})
	out["BatchWrite"] = s.BatchWrite(ctx, []*Patient{p}, nil)
	out["TransactWrite"] = table.TransactWrite(ctx, c, s.TxPut(p))
	out["TransactGet"] = table.TransactGet(ctx, c, s.TxGet(sk("p1")))
	return out
}

// TestDynamoDBErrorsMapped feeds every DynamoDB error shape, as canned HTTP
// answers through the real SDK client, to every table operation: each
// error wraps the expected sentinel, keeps the SDK error for errors.As, and
// never carries the answer's message text.
func TestDynamoDBErrorsMapped(t *testing.T) {
	ctx := context.Background()
	for _, a := range cannedAnswers() {
		t.Run(a.name, func(t *testing.T) {
			c := oneShot(fakeDynamoDB(t, a))
			for op, err := range tableCalls(ctx, t, c) {
				want := a.want
				if op == "BatchWrite" && a.name == "validation" {
					// A refused chunk is resent item by item; each refusal
					// is that item's ErrInvalidItem.
					want = table.ErrInvalidItem
				}
				if !errors.Is(err, want) {
					t.Errorf("%s: err = %v, want %v", op, err, want)
					continue
				}
				if strings.Contains(err.Error(), errMarker) || strings.Contains(fmt.Sprintf("%+v", err), errMarker) {
					t.Errorf("%s: error carries DynamoDB's message text: %v", op, err)
				}
				var de *table.DynamoDBError
				if !errors.As(err, &de) {
					t.Errorf("%s: no *DynamoDBError in %v", op, err)
					continue
				}
				if de.StatusCode != a.status {
					t.Errorf("%s: status %d, want %d", op, de.StatusCode, a.status)
				}
				if de.RequestID != "REQ123" {
					t.Errorf("%s: request id %q", op, de.RequestID)
				}
				if a.code != "" {
					var api smithy.APIError
					if !errors.As(err, &api) || !strings.HasSuffix(a.code, "#"+api.ErrorCode()) || de.Code != api.ErrorCode() {
						t.Errorf("%s: SDK error code lost: %v / %q", op, api, de.Code)
					}
				}
			}
		})
	}
}

// TestDynamoDBErrorTypesKept checks that errors.As still reaches the SDK's
// modelled exception types.
func TestDynamoDBErrorTypesKept(t *testing.T) {
	c := oneShot(fakeDynamoDB(t, cannedAnswers()[2]))
	tb, err := table.New[Patient](c, "fake", newStore(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tb.For("tenant-a").Get(context.Background(), sk("p1"))
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || !errors.Is(err, table.ErrNoTable) {
		t.Fatalf("err = %v, want ErrNoTable with *types.ResourceNotFoundException", err)
	}
}

// TestDynamoDBUnreachable: connection refused, a server that does not
// answer within the HTTP client's timeout, and a context deadline are all
// ErrUnavailable (the deadline also context.DeadlineExceeded); a cancelled
// context is context.Canceled.
func TestDynamoDBUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)

	check := func(t *testing.T, ctx context.Context, c *dynamodb.Client, want ...error) {
		t.Helper()
		for op, err := range tableCalls(ctx, t, c) {
			for _, w := range want {
				if !errors.Is(err, w) {
					t.Errorf("%s: err = %v, want %v", op, err, w)
				}
			}
			var de *table.DynamoDBError
			if !errors.As(err, &de) {
				t.Errorf("%s: no *DynamoDBError in %v", op, err)
			}
		}
	}
	t.Run("connection refused", func(t *testing.T) {
		check(t, context.Background(), oneShot(refused), table.ErrUnavailable)
	})
	t.Run("http client timeout", func(t *testing.T) {
		check(t, context.Background(), oneShotTimeout(slow.URL, 200*time.Millisecond), table.ErrUnavailable)
	})
	t.Run("context deadline", func(t *testing.T) {
		c := itest.NewDynamoDBClient(slow.URL, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		check(t, ctx, c, table.ErrUnavailable, context.DeadlineExceeded)
	})
	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tb, err := table.New[Patient](oneShotTimeout(slow.URL, 200*time.Millisecond), "fake", newStore(t))
		if err != nil {
			t.Fatal(err)
		}
		_, err = tb.For("tenant-a").Get(ctx, sk("p1"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// TestDynamoDBConditionAnswersScrubbed: a failed condition stays
// ErrConflict, a cancelled transaction a *TxError, and neither carries the
// answer's message text (cancellation reasons carry messages too).
func TestDynamoDBConditionAnswersScrubbed(t *testing.T) {
	ctx := context.Background()
	ccf := cannedAnswer{status: 400, code: "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", body: "The conditional request failed " + errMarker}
	c := oneShot(fakeDynamoDB(t, ccf))
	tb, err := table.New[Patient](c, "fake", newStore(t))
	if err != nil {
		t.Fatal(err)
	}
	s := tb.For("tenant-a")
	p := &Patient{Tenant: "tenant-a", ID: "p1", Version: 3}
	err = s.Put(ctx, p)
	if !errors.Is(err, table.ErrConflict) || strings.Contains(err.Error(), errMarker) {
		t.Fatalf("put: %v, want ErrConflict without the message", err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled [%s]","CancellationReasons":[{"Code":"ValidationError","Message":%q}]}`, errMarker, errMarker)
	}))
	defer srv.Close()
	c = oneShot(srv.URL)
	tb, err = table.New[Patient](c, "fake", newStore(t))
	if err != nil {
		t.Fatal(err)
	}
	err = table.TransactWrite(ctx, c, tb.For("tenant-a").TxPut(p))
	var te *table.TxError
	if !errors.As(err, &te) || strings.Contains(err.Error(), errMarker) || !errors.Is(err, table.ErrRequestFailed) {
		t.Fatalf("transact write: %v, want a *TxError wrapping ErrRequestFailed without the message", err)
	}
	err = table.TransactGet(ctx, c, tb.For("tenant-a").TxGet(sk("p1")))
	if err == nil || strings.Contains(err.Error(), errMarker) {
		t.Fatalf("transact get: %v", err)
	}
}

// TestDynamoDBErrorCodeNotPrintedUnlessACode: an error code that is not a
// plain identifier (text where a code should be) is classified but never
// printed, nor is a cancellation reason's.
func TestDynamoDBErrorCodeNotPrintedUnlessACode(t *testing.T) {
	ctx := context.Background()
	a := cannedAnswer{status: 400, code: "com.amazonaws.dynamodb.v20120810#" + errMarker, body: "x", want: table.ErrRequestFailed}
	c := oneShot(fakeDynamoDB(t, a))
	for op, err := range tableCalls(ctx, t, c) {
		if !errors.Is(err, table.ErrRequestFailed) && !errors.Is(err, table.ErrInvalidItem) {
			t.Errorf("%s: %v, want ErrRequestFailed", op, err)
		}
		if strings.Contains(err.Error(), errMarker) {
			t.Errorf("%s: code text printed: %v", op, err)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"x","CancellationReasons":[{"Code":%q}]}`, errMarker)
	}))
	defer srv.Close()
	c = oneShot(srv.URL)
	tb, err := table.New[Patient](c, "fake", newStore(t))
	if err != nil {
		t.Fatal(err)
	}
	err = table.TransactWrite(ctx, c, tb.For("tenant-a").TxPut(&Patient{Tenant: "tenant-a", ID: "p1"}))
	if err == nil || strings.Contains(err.Error(), errMarker) {
		t.Fatalf("transact write: %v", err)
	}
}
