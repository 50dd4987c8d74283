package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dynaseal/dynaseal/table/job"
)

// TestAWSErrorDropsMessage: a service error's message text (which can
// quote a request value) never reaches the printed error; the code, the
// status and errors.As on the SDK error survive.
func TestAWSErrorDropsMessage(t *testing.T) {
	api := &smithy.GenericAPIError{Code: "ValidationException", Message: "One or more parameter values were invalid: secret-value-123"}
	sdkErr := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 400}}, Err: api}, RequestID: "req"}
	err := newAWSError("GetItem", &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "GetItem", Err: sdkErr})
	if s := err.Error(); strings.Contains(s, "secret-value-123") || s != "GetItem failed: ValidationException (HTTP 400)" {
		t.Errorf("printed %q", s)
	}
	var got smithy.APIError
	if !errors.As(err, &got) || got.ErrorCode() != "ValidationException" {
		t.Errorf("errors.As lost the SDK error: %v", got)
	}
	if s := newAWSError("Scan", errors.New("dial tcp: connection refused")).Error(); !strings.Contains(s, "no answer") {
		t.Errorf("no-answer error printed %q", s)
	}
	if newAWSError("Scan", nil) != nil {
		t.Error("nil error wrapped")
	}
}

// TestJSONForms converts every attribute type to plain and typed JSON.
func TestJSONForms(t *testing.T) {
	item := map[string]types.AttributeValue{
		"s":  &types.AttributeValueMemberS{Value: "x"},
		"n":  &types.AttributeValueMemberN{Value: "1.5"},
		"b":  &types.AttributeValueMemberB{Value: []byte{1, 2}},
		"t":  &types.AttributeValueMemberBOOL{Value: true},
		"z":  &types.AttributeValueMemberNULL{Value: true},
		"ss": &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns": &types.AttributeValueMemberNS{Value: []string{"1", "20"}},
		"bs": &types.AttributeValueMemberBS{Value: [][]byte{{3}}},
		"l":  &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "7"}, &types.AttributeValueMemberS{Value: "y"}}},
		"m":  &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: "v"}}},
	}
	plain, err := json.Marshal(plainItem(item))
	if err != nil {
		t.Fatal(err)
	}
	const wantPlain = `{"b":"AQI=","bs":["Aw=="],"l":[7,"y"],"m":{"k":"v"},"n":1.5,"ns":[1,20],"s":"x","ss":["a","b"],"t":true,"z":null}`
	if string(plain) != wantPlain {
		t.Errorf("plain:\n got %s\nwant %s", plain, wantPlain)
	}
	typed, err := json.Marshal(typedItem(item))
	if err != nil {
		t.Fatal(err)
	}
	const wantTyped = `{"b":{"B":"AQI="},"bs":{"BS":["Aw=="]},"l":{"L":[{"N":"7"},{"S":"y"}]},"m":{"M":{"k":{"S":"v"}}},"n":{"N":"1.5"},"ns":{"NS":["1","20"]},"s":{"S":"x"},"ss":{"SS":["a","b"]},"t":{"BOOL":true},"z":{"NULL":true}}`
	if string(typed) != wantTyped {
		t.Errorf("typed:\n got %s\nwant %s", typed, wantTyped)
	}
}

// TestKeyValue parses key values by the key's type.
func TestKeyValue(t *testing.T) {
	if v, err := keyValue("n", types.ScalarAttributeTypeN, "0012.50"); err != nil || v.(*types.AttributeValueMemberN).Value != "12.5" {
		t.Errorf("N: %v %v", v, err)
	}
	if _, err := keyValue("n", types.ScalarAttributeTypeN, "abc"); !errors.Is(err, errUsage) {
		t.Errorf("bad N: %v", err)
	}
	if v, err := keyValue("b", types.ScalarAttributeTypeB, "AQI="); err != nil || string(v.(*types.AttributeValueMemberB).Value) != "\x01\x02" {
		t.Errorf("B: %v %v", v, err)
	}
	if _, err := keyValue("b", types.ScalarAttributeTypeB, "!!"); !errors.Is(err, errUsage) {
		t.Errorf("bad B: %v", err)
	}
	for ep, want := range map[string]bool{"http://localhost:8000": true, "http://127.0.0.1:1": true, "http://[::1]:8000": true,
		"https://dynamodb.eu-west-1.amazonaws.com": false, "http://10.0.0.1:8000": false} {
		if isLoopback(ep) != want {
			t.Errorf("isLoopback(%s) != %v", ep, want)
		}
	}
}

// TestProgressView draws the bar in place (with the estimate capped below
// 100% until every segment is done) and plain lines otherwise.
func TestProgressView(t *testing.T) {
	var w strings.Builder
	c := &cli{errw: &w, isTerminal: func() bool { return true }}
	pv, err := c.newProgress("auto", "reencrypt", 100)
	if err != nil || !pv.bar {
		t.Fatalf("auto on a terminal: %v %+v", err, pv)
	}
	pv.report(job.Progress{Segment: 0, Segments: 2, Scanned: 60, Counts: job.Counts{"resealed": 60, "floor/acme": 2}, Rate: 10})
	pv.report(job.Progress{Segment: 1, Segments: 2, Scanned: 60, Counts: job.Counts{"resealed": 50}, Rate: 5})
	out := w.String()
	if !strings.Contains(out, "\r\033[Kreencrypt [") || !strings.Contains(out, " 99% 120/~100 items") || !strings.Contains(out, "resealed 110") || strings.Contains(out, "floor") {
		t.Errorf("bar: %q", out)
	}
	pv.report(job.Progress{Segment: 0, Segments: 2, Scanned: 60, Done: true})
	pv.report(job.Progress{Segment: 1, Segments: 2, Scanned: 60, Done: true})
	pv.finish()
	if out := w.String(); !strings.Contains(out, "100%") || !strings.HasSuffix(out, "\n") {
		t.Errorf("finished bar: %q", out)
	}

	w.Reset()
	c.isTerminal = func() bool { return false }
	pv, _ = c.newProgress("auto", "sweep", 0)
	pv.report(job.Progress{Segment: 3, Segments: 4, Scanned: 7, Counts: job.Counts{"stale": 1}, Rate: 2, Done: true})
	if got := w.String(); got != "sweep: segment 3/4 done: 7 items (stale 1), 2 items/s, 0s\n" {
		t.Errorf("line: %q", got)
	}
	if pv, _ := c.newProgress("none", "x", 0); pv != nil {
		t.Error("none gave a view")
	}
	if _, err := c.newProgress("fancy", "x", 0); !errors.Is(err, errUsage) {
		t.Errorf("bad mode: %v", err)
	}
}
