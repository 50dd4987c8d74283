// Package kmslocal is a small AWS KMS-compatible HTTP endpoint for tests.
//
// This package answers the KMS JSON 1.1 protocol (POST /, X-Amz-Target:
// TrentService.<Operation>, Content-Type: application/x-amz-json-1.1) well
// enough for the real aws-sdk-go-v2 KMS client to talk to it. Supported
// operations: CreateKey, CreateAlias, DeleteAlias, DescribeKey, ListAliases,
// Encrypt, Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
// DisableKey, EnableKey, ScheduleKeyDeletion and CancelKeyDeletion.
//
// It is as strict as real KMS wherever dynaseal's tests could otherwise pass
// on leniency: DisableKey, EnableKey, ScheduleKeyDeletion, CancelKeyDeletion
// and CreateAlias take a key id or key ARN only (an alias is NotFound, as in
// KMS); ARNs of another account or region are NotFound; KeySpec and
// KeyUsage are honoured (only SYMMETRIC_DEFAULT keys encrypt here, any other
// key fails Encrypt, Decrypt and GenerateDataKey with
// InvalidKeyUsageException); empty or oversized blobs and plaintexts are
// ValidationException while malformed blobs of a valid size are
// InvalidCiphertextException; an alias cannot be pointed at a key pending
// deletion. itest/kmslocal/CONFORMANCE.md lists where it still differs from
// local-kms and from KMS, and why.
//
// Cryptographic operations address keys by key id, key ARN, alias name or
// alias ARN. Every
// ciphertext blob is real AES-256-GCM under the key's own random material,
// with the key id and the canonical encryption context bound as associated
// data, so decrypting under another context fails with
// InvalidCiphertextException as in KMS. Decrypt without a KeyId finds the key
// from the blob. Errors use KMS's JSON error shape ({"__type": ..., "message":
// ...}) and HTTP status, so the SDK returns *types.NotFoundException,
// *types.DisabledException, *types.KMSInvalidStateException,
// *types.InvalidCiphertextException and so on; throttling is a
// ThrottlingException with status 400, which the SDK's retryer treats as
// throttling.
//
// The server counts calls per operation and can inject throttling (the next N
// calls, or a fraction of calls), latency, and outages (dropped connections,
// HTTP 503, a closed listener) at run time. These hooks stay for the tests
// that use them; a fault test that should hold on any KMS puts
// itest/faultproxy in front of kmslocal or local-kms instead. It is for tests only: it signs nothing, checks no
// credentials and keeps everything in memory.
package kmslocal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/uuid"
)

// Region and Account are the fixed region and account id used in every ARN
// the server returns.
const (
	Region  = "us-east-1"
	Account = "111122223333"
)

// OutageMode selects how the server fails while an outage is injected.
type OutageMode int

const (
	// OutageNone serves normally.
	OutageNone OutageMode = iota
	// OutageDrop closes every connection without answering, as a network
	// failure or a refused connection looks to the client.
	OutageDrop
	// Outage503 answers every request with HTTP 503 and a
	// KMSInternalException body.
	Outage503
	// OutageRefuse closes the listening socket and every open connection,
	// so new connections are refused; ending the outage listens again on
	// the same address.
	OutageRefuse
)

// key states as KMS names them.
const (
	stateEnabled         = "Enabled"
	stateDisabled        = "Disabled"
	statePendingDeletion = "PendingDeletion"
)

type key struct {
	id       string
	arn      string
	desc     string
	state    string
	spec     string // KeySpec
	usage    string // KeyUsage
	created  time.Time
	deletion time.Time
	aead     cipher.AEAD
}

// Server is a running KMS-compatible endpoint. Its methods are safe for
// concurrent use.
type Server struct {
	srv *httptest.Server

	mu           sync.Mutex
	keys         map[string]*key   // by key id
	aliases      map[string]string // alias name -> key id
	calls        map[string]int
	throttleN    int
	throttleRate float64
	latency      time.Duration
	outage       OutageMode
	refusedAddr  string
}

// Start starts a server on a free loopback port. Close it when done.
func Start() (*Server, error) {
	s := &Server{
		keys:    make(map[string]*key),
		aliases: make(map[string]string),
		calls:   make(map[string]int),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s, nil
}

// URL is the endpoint's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server and closes client connections.
func (s *Server) Close() { s.srv.Close() }

// Client returns a real aws-sdk-go-v2 KMS client pointed at the server, with
// static dummy credentials, region us-east-1, and at most two attempts per
// call with millisecond backoff so that outage tests stay quick.
func (s *Server) Client(optFns ...func(*kms.Options)) *kms.Client {
	opts := kms.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDKMSLOCAL", "kmslocal-secret", ""),
		HTTPClient:   &http.Client{Transport: s.transport()},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 2
			o.MaxBackoff = 5 * time.Millisecond
			o.RateLimiter = noRateLimit{}
		}),
	}
	return kms.New(opts, optFns...)
}

// transport is the test server's transport, keeping up to 64 idle
// connections instead of 2, so that concurrent tests reuse connections
// rather than open (and leave in TIME_WAIT) one per request.
func (s *Server) transport() *http.Transport {
	tr := s.srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return tr
}

// noRateLimit disables the SDK's client-side retry token bucket, which would
// otherwise make retries fail fast after a burst of injected faults.
type noRateLimit struct{}

// GetToken always grants a retry token.
func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}

// AddTokens ignores returned tokens.
func (noRateLimit) AddTokens(uint) error { return nil }

// Calls returns how many requests named op (for example "Decrypt") reached
// the server, including requests that failed or were throttled. Requests
// refused by an injected outage are not counted.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// AllCalls returns a copy of the per-operation call counters.
func (s *Server) AllCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls sets every call counter to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// ThrottleNext makes the next n requests fail with ThrottlingException.
func (s *Server) ThrottleNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleN = n
}

// ThrottleRate makes a fraction (0 to 1) of requests fail with
// ThrottlingException until set back to 0.
func (s *Server) ThrottleRate(rate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleRate = rate
}

// SetLatency delays every answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetOutage starts (or with OutageNone ends) an injected outage. It fails
// only when the address cannot be listened on again after OutageRefuse.
func (s *Server) SetOutage(m OutageMode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.outage
	s.outage = m
	switch {
	case m == OutageRefuse && prev != OutageRefuse:
		addr := s.srv.Listener.Addr().String()
		_ = s.srv.Listener.Close()
		s.srv.CloseClientConnections()
		s.refusedAddr = addr
	case m != OutageRefuse && prev == OutageRefuse:
		ln, err := net.Listen("tcp", s.refusedAddr)
		if err != nil {
			s.outage = OutageRefuse
			return fmt.Errorf("kmslocal: listen again on %s: %w", s.refusedAddr, err)
		}
		s.srv.Listener = ln
		go func() { _ = s.srv.Config.Serve(ln) }()
	}
	return nil
}

// CreateKey creates a symmetric key directly (without the client) and
// returns its key id. Handy for test setup.
func (s *Server) CreateKey(description string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newKeyLocked(description, specSymmetric, usageEncrypt).id
}

// SetAlias points alias (which must start with "alias/") at keyID (a key
// id or key ARN) directly. As in KMS, the key must not be pending deletion.
func (s *Server) SetAlias(alias, keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.resolveKeyLocked(keyID)
	if err != nil {
		return err
	}
	if k.state == statePendingDeletion {
		return &apiError{400, "KMSInvalidStateException", k.arn + " is pending deletion."}
	}
	s.aliases[alias] = k.id
	return nil
}

// KeyARN returns the ARN of a key id.
func KeyARN(keyID string) string {
	return "arn:aws:kms:" + Region + ":" + Account + ":key/" + keyID
}

// Key specs and usages kmslocal knows. Only SYMMETRIC_DEFAULT keys have
// material; the others exist so that a selector naming one fails as in KMS.
const (
	specSymmetric = "SYMMETRIC_DEFAULT"
	usageEncrypt  = "ENCRYPT_DECRYPT"
	usageSign     = "SIGN_VERIFY"
	usageMAC      = "GENERATE_VERIFY_MAC"
	usageAgree    = "KEY_AGREEMENT"
)

// keySpecUsages lists, per KeySpec, the KeyUsage values KMS accepts.
// KeyUsage defaults to ENCRYPT_DECRYPT for every spec, as in KMS, so a spec
// that cannot encrypt must name its usage.
var keySpecUsages = map[string][]string{
	specSymmetric:     {usageEncrypt},
	"RSA_2048":        {usageEncrypt, usageSign},
	"RSA_3072":        {usageEncrypt, usageSign},
	"RSA_4096":        {usageEncrypt, usageSign},
	"ECC_NIST_P256":   {usageSign, usageAgree},
	"ECC_NIST_P384":   {usageSign, usageAgree},
	"ECC_NIST_P521":   {usageSign, usageAgree},
	"ECC_SECG_P256K1": {usageSign},
	"HMAC_224":        {usageMAC},
	"HMAC_256":        {usageMAC},
	"HMAC_384":        {usageMAC},
	"HMAC_512":        {usageMAC},
}

// checkSpec validates CreateKey's KeySpec and KeyUsage and fills defaults.
func checkSpec(spec, usage string) (string, string, error) {
	if spec == "" {
		spec = specSymmetric
	}
	if usage == "" {
		usage = usageEncrypt
	}
	usages, ok := keySpecUsages[spec]
	if !ok {
		return "", "", errValidation("1 validation error detected: Value at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set")
	}
	for _, u := range usages {
		if u == usage {
			return spec, usage, nil
		}
	}
	return "", "", errValidation("KeyUsage " + usage + " is not compatible with KeySpec " + spec)
}

func (s *Server) newKeyLocked(desc, spec, usage string) *key {
	var material [32]byte
	if _, err := rand.Read(material[:]); err != nil {
		panic("kmslocal: crypto/rand failed: " + err.Error())
	}
	block, err := aes.NewCipher(material[:])
	clear(material[:])
	if err != nil {
		panic("kmslocal: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("kmslocal: " + err.Error())
	}
	id := uuid.NewString()
	k := &key{id: id, arn: KeyARN(id), desc: desc, state: stateEnabled, spec: spec, usage: usage, created: time.Now()}
	if spec == specSymmetric {
		k.aead = aead
	}
	s.keys[id] = k
	return k
}

// apiError is a KMS error answer.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func errNotFound(msg string) *apiError { return &apiError{400, "NotFoundException", msg} }
func errValidation(msg string) *apiError {
	return &apiError{400, "ValidationException", msg}
}

// resolveKeyLocked finds a key by key id or key ARN only, as the KMS
// operations that manage a key (DisableKey, CreateAlias's target, ...) do.
func (s *Server) resolveKeyLocked(ref string) (*key, error) {
	if strings.HasPrefix(ref, "alias/") || (strings.HasPrefix(ref, "arn:") && strings.Contains(ref, ":alias/")) {
		return nil, errNotFound("Invalid keyId " + ref)
	}
	return s.resolveLocked(ref)
}

// resolveLocked finds a key by id, ARN, alias name or alias ARN. ARNs of
// another partition, account or region are not found: this server is one
// account in one region, and silently using a local key for a typo in a
// BYOK ARN would hide the typo.
func (s *Server) resolveLocked(ref string) (*key, error) {
	if ref == "" {
		return nil, errValidation("KeyId is required")
	}
	id := ref
	switch {
	case strings.HasPrefix(ref, "arn:"):
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) != 6 || parts[1] != "aws" || parts[2] != "kms" {
			return nil, errNotFound("Invalid arn " + ref)
		}
		if parts[3] != Region || parts[4] != Account {
			return nil, errNotFound("Key '" + ref + "' does not exist")
		}
		res := parts[5]
		switch {
		case strings.HasPrefix(res, "key/"):
			id = strings.TrimPrefix(res, "key/")
		case strings.HasPrefix(res, "alias/"):
			kid, ok := s.aliases[res]
			if !ok {
				return nil, errNotFound("Alias " + ref + " is not found.")
			}
			id = kid
		default:
			return nil, errNotFound("Invalid arn " + ref)
		}
	case strings.HasPrefix(ref, "alias/"):
		kid, ok := s.aliases[ref]
		if !ok {
			return nil, errNotFound("Alias " + KeyARNAlias(ref) + " is not found.")
		}
		id = kid
	}
	k, ok := s.keys[id]
	if !ok {
		return nil, errNotFound("Key '" + KeyARN(id) + "' does not exist")
	}
	return k, nil
}

// KeyARNAlias returns the ARN of an alias name.
func KeyARNAlias(alias string) string {
	return "arn:aws:kms:" + Region + ":" + Account + ":" + alias
}

// usable reports the KMS error for a key that cannot be used for
// cryptographic operations.
func usable(k *key) error {
	switch k.state {
	case stateEnabled:
		return nil
	case stateDisabled:
		return &apiError{400, "DisabledException", k.arn + " is disabled."}
	default:
		return &apiError{400, "KMSInvalidStateException", k.arn + " is pending deletion."}
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	outage, latency := s.outage, s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	switch outage {
	case OutageDrop, OutageRefuse:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		writeError(w, &apiError{503, "KMSInternalException", "injected outage"})
		return
	case Outage503:
		writeError(w, &apiError{503, "KMSInternalException", "injected outage"})
		return
	}

	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "TrentService.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, &apiError{400, "UnknownOperationException", "unknown target " + target})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, errValidation("cannot read body"))
		return
	}

	s.mu.Lock()
	s.calls[op]++
	throttle := false
	if s.throttleN > 0 {
		s.throttleN--
		throttle = true
	} else if s.throttleRate > 0 && mrand.Float64() < s.throttleRate {
		throttle = true
	}
	s.mu.Unlock()
	if throttle {
		writeError(w, &apiError{400, "ThrottlingException", "Rate exceeded"})
		return
	}

	out, err := s.dispatch(op, body)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{500, "KMSInternalException", err.Error()}
		}
		writeError(w, ae)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.typ, "message": e.msg})
}

// request is the union of the request fields the supported operations use.
type request struct {
	KeyID               string            `json:"KeyId"`
	Description         string            `json:"Description"`
	AliasName           string            `json:"AliasName"`
	TargetKeyID         string            `json:"TargetKeyId"`
	Plaintext           []byte            `json:"Plaintext"`
	CiphertextBlob      []byte            `json:"CiphertextBlob"`
	EncryptionContext   map[string]string `json:"EncryptionContext"`
	NumberOfBytes       *int              `json:"NumberOfBytes"`
	KeySpec             string            `json:"KeySpec"`
	KeyUsage            string            `json:"KeyUsage"`
	EncryptionAlgorithm string            `json:"EncryptionAlgorithm"`
	PendingWindowInDays *int              `json:"PendingWindowInDays"`
}

type keyMetadata struct {
	AWSAccountID         string   `json:"AWSAccountId"`
	Arn                  string   `json:"Arn"`
	KeyID                string   `json:"KeyId"`
	Description          string   `json:"Description"`
	Enabled              bool     `json:"Enabled"`
	KeyState             string   `json:"KeyState"`
	KeyUsage             string   `json:"KeyUsage"`
	KeySpec              string   `json:"KeySpec"`
	KeyManager           string   `json:"KeyManager"`
	Origin               string   `json:"Origin"`
	CreationDate         float64  `json:"CreationDate"`
	DeletionDate         *float64 `json:"DeletionDate,omitempty"`
	EncryptionAlgorithms []string `json:"EncryptionAlgorithms,omitempty"`
}

func metadata(k *key) keyMetadata {
	m := keyMetadata{
		AWSAccountID: Account, Arn: k.arn, KeyID: k.id, Description: k.desc,
		Enabled: k.state == stateEnabled, KeyState: k.state,
		KeyUsage: k.usage, KeySpec: k.spec, KeyManager: "CUSTOMER",
		Origin: "AWS_KMS", CreationDate: float64(k.created.Unix()),
	}
	if k.spec == specSymmetric {
		m.EncryptionAlgorithms = []string{"SYMMETRIC_DEFAULT"}
	}
	if k.state == statePendingDeletion {
		d := float64(k.deletion.Unix())
		m.DeletionDate = &d
	}
	return m
}

func (s *Server) dispatch(op string, body []byte) (any, error) {
	var req request
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, &apiError{400, "SerializationException", "cannot parse request"}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "CreateKey":
		spec, usage, err := checkSpec(req.KeySpec, req.KeyUsage)
		if err != nil {
			return nil, err
		}
		return map[string]any{"KeyMetadata": metadata(s.newKeyLocked(req.Description, spec, usage))}, nil
	case "DescribeKey":
		k, err := s.resolveLocked(req.KeyID)
		if err != nil {
			return nil, err
		}
		return map[string]any{"KeyMetadata": metadata(k)}, nil
	case "CreateAlias":
		if !strings.HasPrefix(req.AliasName, "alias/") || strings.HasPrefix(req.AliasName, "alias/aws/") {
			return nil, errValidation("alias name must begin with alias/ and not alias/aws/")
		}
		if _, ok := s.aliases[req.AliasName]; ok {
			return nil, &apiError{400, "AlreadyExistsException", "An alias with the name " + KeyARNAlias(req.AliasName) + " already exists"}
		}
		k, err := s.resolveKeyLocked(req.TargetKeyID)
		if err != nil {
			return nil, err
		}
		if k.state == statePendingDeletion {
			return nil, &apiError{400, "KMSInvalidStateException", k.arn + " is pending deletion."}
		}
		s.aliases[req.AliasName] = k.id
		return struct{}{}, nil
	case "DeleteAlias":
		if _, ok := s.aliases[req.AliasName]; !ok {
			return nil, errNotFound("Alias " + KeyARNAlias(req.AliasName) + " is not found.")
		}
		delete(s.aliases, req.AliasName)
		return struct{}{}, nil
	case "ListAliases":
		type entry struct {
			AliasName   string `json:"AliasName"`
			AliasArn    string `json:"AliasArn"`
			TargetKeyID string `json:"TargetKeyId"`
		}
		list := make([]entry, 0, len(s.aliases))
		for name, id := range s.aliases {
			if req.KeyID != "" {
				k, err := s.resolveKeyLocked(req.KeyID)
				if err != nil {
					return nil, err
				}
				if k.id != id {
					continue
				}
			}
			list = append(list, entry{name, KeyARNAlias(name), id})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].AliasName < list[j].AliasName })
		return map[string]any{"Aliases": list, "Truncated": false}, nil
	case "DisableKey", "EnableKey":
		k, err := s.resolveKeyLocked(req.KeyID)
		if err != nil {
			return nil, err
		}
		if k.state == statePendingDeletion {
			return nil, &apiError{400, "KMSInvalidStateException", k.arn + " is pending deletion."}
		}
		if op == "DisableKey" {
			k.state = stateDisabled
		} else {
			k.state = stateEnabled
		}
		return struct{}{}, nil
	case "ScheduleKeyDeletion":
		k, err := s.resolveKeyLocked(req.KeyID)
		if err != nil {
			return nil, err
		}
		days := 30
		if req.PendingWindowInDays != nil {
			days = *req.PendingWindowInDays
		}
		if days < 7 || days > 30 {
			return nil, errValidation("PendingWindowInDays must be between 7 and 30")
		}
		k.state = statePendingDeletion
		k.deletion = time.Now().Add(time.Duration(days) * 24 * time.Hour)
		return map[string]any{"KeyId": k.arn, "KeyState": k.state, "DeletionDate": float64(k.deletion.Unix()), "PendingWindowInDays": days}, nil
	case "CancelKeyDeletion":
		k, err := s.resolveKeyLocked(req.KeyID)
		if err != nil {
			return nil, err
		}
		if k.state != statePendingDeletion {
			return nil, &apiError{400, "KMSInvalidStateException", k.arn + " is not pending deletion."}
		}
		k.state = stateDisabled
		return map[string]any{"KeyId": k.arn}, nil
	case "Encrypt":
		k, err := s.resolveLocked(req.KeyID)
		if err != nil {
			return nil, err
		}
		if len(req.Plaintext) == 0 || len(req.Plaintext) > 4096 {
			return nil, errValidation("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096")
		}
		if err := usable(k); err != nil {
			return nil, err
		}
		if err := symmetric(k, req.EncryptionAlgorithm); err != nil {
			return nil, err
		}
		return map[string]any{"CiphertextBlob": seal(k, req.Plaintext, req.EncryptionContext), "KeyId": k.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
	case "GenerateDataKey", "GenerateDataKeyWithoutPlaintext":
		k, err := s.resolveLocked(req.KeyID)
		if err != nil {
			return nil, err
		}
		if err := usable(k); err != nil {
			return nil, err
		}
		if err := symmetric(k, ""); err != nil {
			return nil, err
		}
		n := 0
		switch {
		case req.NumberOfBytes != nil && req.KeySpec != "":
			return nil, errValidation("specify either KeySpec or NumberOfBytes")
		case req.NumberOfBytes != nil:
			n = *req.NumberOfBytes
		case req.KeySpec == "AES_256":
			n = 32
		case req.KeySpec == "AES_128":
			n = 16
		}
		if n < 1 || n > 1024 {
			return nil, errValidation("specify KeySpec (AES_128, AES_256) or NumberOfBytes (1 to 1024)")
		}
		pt := make([]byte, n)
		if _, err := rand.Read(pt); err != nil {
			return nil, err
		}
		out := map[string]any{"CiphertextBlob": seal(k, pt, req.EncryptionContext), "KeyId": k.arn}
		if op == "GenerateDataKey" {
			out["Plaintext"] = pt
		}
		return out, nil
	case "Decrypt":
		// KMS checks the blob's length (1 to 6144 bytes) before anything
		// else, and only then its contents.
		if len(req.CiphertextBlob) == 0 || len(req.CiphertextBlob) > maxBlob {
			return nil, errValidation("1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and 6144")
		}
		var named *key
		if req.KeyID != "" {
			var err error
			if named, err = s.resolveLocked(req.KeyID); err != nil {
				return nil, err
			}
			if err := symmetric(named, req.EncryptionAlgorithm); err != nil {
				return nil, err
			}
		}
		if len(req.CiphertextBlob) < 2+16+12 {
			return nil, &apiError{400, "InvalidCiphertextException", ""}
		}
		idLen := int(binary.BigEndian.Uint16(req.CiphertextBlob))
		if len(req.CiphertextBlob) < 2+idLen+12+16 {
			return nil, &apiError{400, "InvalidCiphertextException", ""}
		}
		k, ok := s.keys[string(req.CiphertextBlob[2:2+idLen])]
		if named != nil {
			if !ok || named.id != k.id {
				return nil, &apiError{400, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation."}
			}
		}
		if !ok {
			return nil, &apiError{400, "InvalidCiphertextException", ""}
		}
		if err := usable(k); err != nil {
			return nil, err
		}
		if err := symmetric(k, ""); err != nil {
			return nil, err
		}
		pt, err := open(k, req.CiphertextBlob, req.EncryptionContext)
		if err != nil {
			return nil, &apiError{400, "InvalidCiphertextException", ""}
		}
		return map[string]any{"Plaintext": pt, "KeyId": k.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
	}
	return nil, &apiError{400, "UnknownOperationException", "kmslocal does not implement " + op}
}

// maxBlob is KMS's limit on CiphertextBlob.
const maxBlob = 6144

// symmetric refuses keys that cannot do symmetric encryption, and
// algorithms other than SYMMETRIC_DEFAULT (kmslocal implements no RSA
// encryption), with KMS's InvalidKeyUsageException.
func symmetric(k *key, alg string) error {
	if k.spec != specSymmetric || k.usage != usageEncrypt {
		return &apiError{400, "InvalidKeyUsageException", "KeyUsage " + k.usage + " of " + k.arn + " (" + k.spec + ") is not valid for this operation."}
	}
	if alg != "" && alg != "SYMMETRIC_DEFAULT" {
		return &apiError{400, "InvalidKeyUsageException", "Algorithm " + alg + " is incompatible with key spec SYMMETRIC_DEFAULT."}
	}
	return nil
}

// Blob layout: uint16 key id length | key id | 12-byte nonce | GCM sealed
// plaintext. The AAD is the key id followed by the canonical encryption
// context (sorted keys, every string length-prefixed).
func seal(k *key, pt []byte, ec map[string]string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("kmslocal: crypto/rand failed: " + err.Error())
	}
	out := binary.BigEndian.AppendUint16(nil, uint16(len(k.id)))
	out = append(out, k.id...)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, pt, aad(k.id, ec))
}

func open(k *key, blob []byte, ec map[string]string) ([]byte, error) {
	rest := blob[2+len(k.id):]
	ns := k.aead.NonceSize()
	if len(rest) < ns {
		return nil, fmt.Errorf("short blob")
	}
	return k.aead.Open(nil, rest[:ns], rest[ns:], aad(k.id, ec))
}

func aad(keyID string, ec map[string]string) []byte {
	names := make([]string, 0, len(ec))
	for n := range ec {
		names = append(names, n)
	}
	sort.Strings(names)
	out := binary.BigEndian.AppendUint32(nil, uint32(len(keyID)))
	out = append(out, keyID...)
	for _, n := range names {
		out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
		out = append(out, n...)
		out = binary.BigEndian.AppendUint32(out, uint32(len(ec[n])))
		out = append(out, ec[n]...)
	}
	return out
}
