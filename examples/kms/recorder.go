package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/dynaseal/dynaseal/tenantkeys"
)

// recorder is a tenantkeys.KMSAPI that prints each call's operation, key and
// encryption context (never a key or a ciphertext) and counts calls, then
// passes it to the real client.
type recorder struct {
	api *kms.Client
	out io.Writer

	mu    sync.Mutex
	n     map[string]int
	names map[string]string // key ARN -> the name it was selected by
}

var _ tenantkeys.KMSAPI = (*recorder)(nil)

func (r *recorder) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	out, err := r.api.GenerateDataKey(ctx, in, optFns...)
	var arn *string
	if out != nil {
		arn = out.KeyId
	}
	r.log("GenerateDataKey", aws.ToString(in.KeyId), aws.ToString(arn), in.EncryptionContext, err)
	return out, err
}

func (r *recorder) GenerateDataKeyWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyWithoutPlaintextInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	out, err := r.api.GenerateDataKeyWithoutPlaintext(ctx, in, optFns...)
	var arn *string
	if out != nil {
		arn = out.KeyId
	}
	r.log("GenerateDataKeyWithoutPlaintext", aws.ToString(in.KeyId), aws.ToString(arn), in.EncryptionContext, err)
	return out, err
}

func (r *recorder) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	out, err := r.api.Decrypt(ctx, in, optFns...)
	r.log("Decrypt", aws.ToString(in.KeyId), "", in.EncryptionContext, err)
	return out, err
}

func (r *recorder) log(op, key, arn string, ec map[string]string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n, r.names = map[string]int{}, map[string]string{}
	}
	r.n[op]++
	if arn != "" && key != "" && arn != key {
		r.names[arn] = key
	}
	if name, ok := r.names[key]; ok {
		key = name
	}
	line := fmt.Sprintf("  kms %-31s %-20s {%s}", op, shortKey(key), fmtContext(ec))
	if err != nil {
		line += " -> " + errorCode(err)
	}
	fmt.Fprintln(r.out, line)
}

// reset zeroes the call counters.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.n)
}

// counts returns a copy of the call counters.
func (r *recorder) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.n)
}

// fmtContext renders an encryption context with the dynaseal keys first.
func fmtContext(ec map[string]string) string {
	order := []string{tenantkeys.ContextTenant, tenantkeys.ContextClass, tenantkeys.ContextVersion, tenantkeys.ContextPurpose}
	var parts []string
	for _, k := range order {
		if v, ok := ec[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(ec)) {
		if !slices.Contains(order, k) {
			parts = append(parts, k+"="+ec[k])
		}
	}
	return strings.Join(parts, " ")
}

// fmtCalls renders call counters as "{Decrypt:2 GenerateDataKey:1}".
func fmtCalls(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// shortKey abbreviates a KMS key ARN to "key/<first 8 of the id>…"; alias
// names and ARNs are shown from "alias/".
func shortKey(k string) string {
	if i := strings.Index(k, "alias/"); i >= 0 {
		return k[i:]
	}
	if i := strings.Index(k, "key/"); i >= 0 {
		k = k[i+len("key/"):]
	}
	if len(k) > 8 {
		k = k[:8] + "…"
	}
	return "key/" + k
}

// errorCode names a KMS error by its API error code.
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return err.Error()
}
