package faultproxy_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/dynaseal/dynaseal/itest"
	"github.com/dynaseal/dynaseal/itest/faultproxy"
	"github.com/dynaseal/dynaseal/itest/kmslocal"
)

func TestMain(m *testing.M) { os.Exit(itest.Main(m)) }

// backend counts the requests that reach it and echoes the operation.
type backend struct {
	*httptest.Server
	hits atomic.Int64
}

func newBackend(t *testing.T) *backend {
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Op", faultproxy.Operation(r))
		_, _ = w.Write(body)
	}))
	t.Cleanup(b.Close)
	return b
}

func newProxy(t *testing.T, target string, opts ...faultproxy.Option) *faultproxy.Proxy {
	p, err := faultproxy.New(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func post(t *testing.T, url, op, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	// A fresh connection per request, so a dropped one cannot be retried
	// silently by the transport.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return c.Do(req)
}

func TestForwardsUnchanged(t *testing.T) {
	b := newBackend(t)
	p := newProxy(t, b.URL)
	resp, err := post(t, p.URL(), "GetItem", "hello")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "hello" || resp.Header.Get("X-Echo-Op") != "GetItem" {
		t.Fatalf("got %q op %q", got, resp.Header.Get("X-Echo-Op"))
	}
	st := p.Stats()
	if st.Requests != 1 || st.Forwarded != 1 || st.Injected() != 0 || st.ByOperation["GetItem"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// DropResponse applies the request at the target and gives the client no
// answer at all.
func TestDropResponseAppliesButHangsUp(t *testing.T) {
	b := newBackend(t)
	p := newProxy(t, b.URL)
	h := p.Add(faultproxy.Rule{Operation: "PutItem", Count: 1, Action: faultproxy.DropResponse})
	if _, err := post(t, p.URL(), "PutItem", "x"); err == nil {
		t.Fatal("dropped response: want a transport error")
	}
	if b.hits.Load() != 1 {
		t.Fatalf("target saw %d requests, want 1", b.hits.Load())
	}
	// Count 1: the next one goes through.
	resp, err := post(t, p.URL(), "PutItem", "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h.Fired() != 1 || b.hits.Load() != 2 {
		t.Fatalf("fired %d, hits %d", h.Fired(), b.hits.Load())
	}
}

func TestDropRequestNeverForwards(t *testing.T) {
	b := newBackend(t)
	p := newProxy(t, b.URL)
	p.Add(faultproxy.Rule{Action: faultproxy.DropRequest})
	if _, err := post(t, p.URL(), "PutItem", "x"); err == nil {
		t.Fatal("want a transport error")
	}
	if b.hits.Load() != 0 || p.Stats().Forwarded != 0 {
		t.Fatalf("target saw %d requests", b.hits.Load())
	}
}

func TestFailAfterForward(t *testing.T) {
	b := newBackend(t)
	p := newProxy(t, b.URL)
	p.Add(faultproxy.Rule{Action: faultproxy.FailAfterForward, Status: 503})
	resp, err := post(t, p.URL(), "PutItem", "x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || len(body) != 0 || b.hits.Load() != 1 {
		t.Fatalf("status %d body %q hits %d", resp.StatusCode, body, b.hits.Load())
	}
}

func TestRespondCanned(t *testing.T) {
	b := newBackend(t)
	p := newProxy(t, b.URL)
	p.Add(faultproxy.Throttle("Query"))
	resp, err := post(t, p.URL(), "Query", "x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "ThrottlingException") || b.hits.Load() != 0 {
		t.Fatalf("status %d body %q hits %d", resp.StatusCode, body, b.hits.Load())
	}
	// Another operation is not matched.
	resp, err = post(t, p.URL(), "GetItem", "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || b.hits.Load() != 1 {
		t.Fatalf("GetItem: status %d hits %d", resp.StatusCode, b.hits.Load())
	}
}

func TestSkipAndMatch(t *testing.T) {
	b := newBackend(t)
	p := newProxy(t, b.URL)
	h := p.Add(faultproxy.Rule{
		Skip: 2, Count: 1, Action: faultproxy.Respond, Status: 500,
		Match: func(_ *http.Request, body []byte) bool { return strings.Contains(string(body), "target") },
	})
	codes := []int{}
	for _, body := range []string{"other", "target", "target", "other", "target", "target"} {
		resp, err := post(t, p.URL(), "PutItem", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	want := []int{200, 200, 200, 200, 500, 200}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes %v, want %v", codes, want)
		}
	}
	if h.Fired() != 1 {
		t.Fatalf("fired %d", h.Fired())
	}
}

// The probability schedule is a function of the seed alone.
func TestSeededProbabilityIsReproducible(t *testing.T) {
	b := newBackend(t)
	run := func(seed uint64) []bool {
		p := newProxy(t, b.URL, faultproxy.WithSeed(seed))
		p.Add(faultproxy.Rule{Probability: 0.3, Action: faultproxy.Respond, Status: 503})
		var out []bool
		for range 60 {
			resp, err := post(t, p.URL(), "GetItem", "")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			out = append(out, resp.StatusCode == 503)
		}
		return out
	}
	a, a2, c := run(7), run(7), run(8)
	n := 0
	for i := range a {
		if a[i] != a2[i] {
			t.Fatal("same seed, different schedule")
		}
		if a[i] {
			n++
		}
	}
	if n < 5 || n > 35 {
		t.Fatalf("%d of 60 fired at p=0.3", n)
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatal("different seeds gave the same schedule")
	}
}

func TestDelay(t *testing.T) {
	b := newBackend(t)
	p := newProxy(t, b.URL)
	p.Add(faultproxy.Rule{Delay: 50 * time.Millisecond, Action: faultproxy.Forward})
	start := time.Now()
	resp, err := post(t, p.URL(), "GetItem", "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("answered after %v, want >= 50ms", d)
	}
	if p.Stats().Faults[faultproxy.Forward] != 1 {
		t.Fatalf("stats %+v", p.Stats())
	}
}

// Through the real SDK and DynamoDB Local: a dropped PutItem response is
// resent by the SDK's retryer, and the target saw the write twice.
func TestSDKRetriesDroppedResponse(t *testing.T) {
	p := newProxy(t, itest.Endpoint(t))
	direct := itest.DynamoDB(t)
	name := itest.NewKeyValueTable(t, direct)
	c := itest.NewDynamoDBClient(p.URL())
	h := p.Add(faultproxy.Rule{Operation: "PutItem", Count: 1, Action: faultproxy.DropResponse})
	_, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "a"}, "sk": &types.AttributeValueMemberS{Value: "b"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if h.Fired() != 1 || p.Stats().ByOperation["PutItem"] != 2 {
		t.Fatalf("fired %d, PutItem requests %d", h.Fired(), p.Stats().ByOperation["PutItem"])
	}
	// With retries off, the client sees the throttling error itself.
	p.Add(faultproxy.ThroughputExceeded("GetItem"))
	nc := itest.NewDynamoDBClient(p.URL(), func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} })
	_, err = nc.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(name), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "a"}, "sk": &types.AttributeValueMemberS{Value: "b"},
	}})
	var pte *types.ProvisionedThroughputExceededException
	if !errors.As(err, &pte) {
		t.Fatalf("err %v, want ProvisionedThroughputExceededException", err)
	}
}

// In front of a KMS-compatible server: canned throttling reaches the real
// KMS client as its modelled error, and forwarded calls still work.
func TestFrontsKMS(t *testing.T) {
	ks, err := kmslocal.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	p := newProxy(t, ks.URL())
	keyID := ks.CreateKey("proxied")
	c := ks.Client(func(o *kms.Options) {
		o.BaseEndpoint = aws.String(p.URL())
		o.HTTPClient = &http.Client{}
		o.Retryer = aws.NopRetryer{}
	})
	out, err := c.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), NumberOfBytes: aws.Int32(32)})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Add(faultproxy.Rule{Operation: "Decrypt", Count: 1, Action: faultproxy.Respond, Status: 400,
		ContentType: "application/x-amz-json-1.1", Body: `{"__type":"ThrottlingException","message":"Rate exceeded"}`})
	_, err = c.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" {
		t.Fatalf("throttled Decrypt: %v", err)
	}
	if _, err := c.Decrypt(t.Context(), &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob}); err != nil {
		t.Fatalf("Decrypt after the rule: %v", err)
	}
	if h.Fired() != 1 || p.Stats().ByOperation["Decrypt"] != 2 {
		t.Fatalf("fired %d, Decrypt requests %d", h.Fired(), p.Stats().ByOperation["Decrypt"])
	}
}
