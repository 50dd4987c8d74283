package tenantkeys

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// sdkError keeps an AWS SDK error in the chain (errors.As still finds the
// SDK's types) but prints only the service, operation, error code and HTTP
// status: a service message may echo request contents, and an endpoint in
// the path may put anything in it, so its text never reaches an error
// string or a log line.
type sdkError struct {
	service, op string
	code        string
	status      int
	err         error
}

func (e *sdkError) Error() string {
	var b strings.Builder
	b.WriteString(e.service)
	b.WriteByte(' ')
	b.WriteString(e.op)
	b.WriteString(": ")
	switch {
	case e.code != "":
		b.WriteString(e.code)
	case isNetError(e.err):
		b.WriteString("network error")
	default:
		b.WriteString("request failed")
	}
	if e.status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.status))
		b.WriteByte(')')
	}
	return b.String()
}

func (e *sdkError) Unwrap() error { return e.err }

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// newSDKError describes err by its error code (sanitized: letters, digits
// and ._:- only, at most 64 bytes) and HTTP status.
func newSDKError(service, op string, err error) *sdkError {
	e := &sdkError{service: service, op: op, err: err}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.code = sanitizeCode(api.ErrorCode())
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.status = re.HTTPStatusCode()
	}
	return e
}

func sanitizeCode(code string) string {
	if len(code) > 64 {
		code = code[:64]
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return "InvalidErrorCode"
		}
	}
	return code
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// kmsSentinel classifies a KMS failure by its error code (modelled or not)
// and, for unmodelled answers, its HTTP status.
func kmsSentinel(op string, e *sdkError) []error {
	code := strings.TrimSuffix(e.code, "Exception")
	switch code {
	case "NotFound", "InvalidArn", "InvalidAliasName":
		return []error{ErrKeyNotFound}
	case "Disabled", "KMSInvalidState":
		return []error{ErrKeyDisabled}
	case "InvalidCiphertext", "Validation":
		if op == "Decrypt" {
			// The stored blob is not one KMS made for this context: the
			// record was edited or copied.
			return []error{ErrKeyCorrupt, ErrKeyRecordTampered}
		}
		if code == "Validation" {
			return []error{ErrKeyNotFound}
		}
		return []error{ErrKeyCorrupt}
	case "IncorrectKey":
		// Decrypt named the allowed key; the blob was made under another.
		return []error{ErrUntrustedKey}
	case "AccessDenied", "UnrecognizedClient", "InvalidSignature", "IncompleteSignature",
		"MissingAuthenticationToken", "ExpiredToken", "InvalidClientTokenId",
		"InvalidKeyUsage": // the configured key may not be used to wrap keys
		return []error{ErrAccessDenied}
	}
	return []error{ErrKMSUnavailable}
}

func joinSentinels(sentinels []error, format string, args ...any) error {
	verbs := strings.Repeat("%w: ", len(sentinels))
	all := make([]any, 0, len(sentinels)+len(args))
	for _, s := range sentinels {
		all = append(all, s)
	}
	return fmt.Errorf(verbs+format, append(all, args...)...)
}
