package table

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// DynamoDBError is a failed DynamoDB call, stripped of the text DynamoDB
// and the SDK put in their messages (a validation message can quote an
// attribute value). Error() prints only the operation, the error code, the
// HTTP status, the request id and the sentinel. Unwrap gives the sentinel
// (ErrUnavailable, ErrNoTable, ErrInvalidRequest, ErrAccessDenied,
// ErrConflict or ErrRequestFailed) and the SDK's own error, so errors.As
// still finds the SDK's types (*types.ResourceNotFoundException,
// smithy.APIError...) and errors.Is finds context errors; printing those
// SDK errors is the caller's choice.
type DynamoDBError struct {
	// Operation is the DynamoDB API operation ("GetItem", "Query"...).
	Operation string
	// Code is DynamoDB's error code ("ValidationException"), empty for a
	// failure without an answer (connection refused, timeout).
	Code string
	// StatusCode is the HTTP status of the answer, 0 without one.
	StatusCode int
	// RequestID is DynamoDB's request id, for a support case.
	RequestID string

	sentinel error
	err      error
}

// Error names the operation, code, status, request id and sentinel only.
func (e *DynamoDBError) Error() string {
	var b strings.Builder
	b.WriteString("table: DynamoDB ")
	b.WriteString(e.Operation)
	b.WriteString(" failed")
	if e.Code != "" || e.StatusCode != 0 {
		b.WriteString(":")
		if e.Code != "" {
			b.WriteString(" ")
			b.WriteString(e.Code)
		}
		if e.StatusCode != 0 {
			b.WriteString(" (HTTP ")
			b.WriteString(strconv.Itoa(e.StatusCode))
			b.WriteString(")")
		}
	}
	if e.RequestID != "" {
		b.WriteString(", request id ")
		b.WriteString(e.RequestID)
	}
	b.WriteString(": ")
	b.WriteString(e.sentinel.Error())
	return b.String()
}

// Unwrap returns the sentinel and the SDK error.
func (e *DynamoDBError) Unwrap() []error { return []error{e.sentinel, e.err} }

// ddbError turns an error of a DynamoDB client call into a *DynamoDBError
// carrying a sentinel and no SDK message text. op names the operation when
// the SDK error does not (a Client implementation that is not the SDK's).
// A nil err gives nil.
func ddbError(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *DynamoDBError
	if errors.As(err, &de) {
		return err // already mapped (a wrapper of ours around the client)
	}
	if op == "" {
		op = "call"
	}
	e := &DynamoDBError{Operation: op, err: err}
	var oe *smithy.OperationError
	if errors.As(err, &oe) && safeCode(oe.Operation()) {
		e.Operation = oe.Operation()
	}
	var api smithy.APIError
	code := ""
	if errors.As(err, &api) {
		code = api.ErrorCode()
		if safeCode(code) {
			e.Code = code
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		e.StatusCode = re.HTTPStatusCode()
	}
	var are *awshttp.ResponseError
	if errors.As(err, &are) && safeToken(are.ServiceRequestID()) {
		e.RequestID = are.ServiceRequestID()
	}
	e.sentinel = classify(err, code, e.StatusCode)
	return e
}

// classify picks the sentinel of a DynamoDB failure.
func classify(err error, code string, status int) error {
	var (
		ccf  *types.ConditionalCheckFailedException
		tcf  *types.TransactionConflictException
		rnf  *types.ResourceNotFoundException
		send *smithyhttp.RequestSendError
		ne   net.Error
	)
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return errDeadline
	case errors.As(err, &ccf), errors.As(err, &tcf):
		return ErrConflict
	case errors.As(err, &rnf):
		return ErrNoTable
	}
	switch code {
	case "ResourceNotFoundException":
		return ErrNoTable
	case "ValidationException", "SerializationException":
		return ErrInvalidRequest
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
		"MissingAuthenticationTokenException", "ExpiredTokenException", "IncompleteSignatureException",
		"InvalidClientTokenId", "InvalidAccessKeyId":
		return ErrAccessDenied
	case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
		"LimitExceededException", "InternalServerError", "InternalFailure", "InternalFailureException",
		"ServiceUnavailable", "ServiceUnavailableException", "TransactionInProgressException":
		return ErrUnavailable
	case "TransactionConflictException", "ConditionalCheckFailedException", "ReplicatedWriteConflictException":
		return ErrConflict
	}
	switch {
	case status >= 500, status == 429:
		return ErrUnavailable
	case errors.As(err, &send):
		return ErrUnavailable // no answer: connection refused, reset, DNS
	case errors.As(err, &ne) && ne.Timeout():
		return ErrUnavailable
	case strings.Contains(strings.ToLower(code), "throttl"):
		return ErrUnavailable
	}
	var qe interface{ RetryableError() bool }
	if status == 0 && code == "" && errors.As(err, &qe) && qe.RetryableError() {
		return ErrUnavailable
	}
	return ErrRequestFailed
}

// errDeadline is a deadline that ran out during a DynamoDB call: the
// service did not answer in time (ErrUnavailable) and the context's
// deadline is exceeded (context.DeadlineExceeded).
var errDeadline = deadlineError{}

type deadlineError struct{}

func (deadlineError) Error() string {
	return ErrUnavailable.Error() + ": " + context.DeadlineExceeded.Error()
}

func (deadlineError) Unwrap() []error { return []error{ErrUnavailable, context.DeadlineExceeded} }

// safeToken reports whether s may be printed: a short identifier-like
// string (error codes, operation names, request ids). Anything else might
// be text from the answer and is left out.
func safeToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// safeCode reports whether s looks like an error code or operation name
// (letters and digits only, as every DynamoDB code is), so that no other
// text from an answer is printed.
func safeCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
