// Package stslocal is a small AWS STS-compatible HTTP endpoint for tests:
// it answers AssumeRole only, through the STS query protocol the real
// aws-sdk-go-v2 STS client speaks (POST form Action=AssumeRole, XML answer).
//
// It stands in for the trust policy of a role in a central key account: it
// refuses (AccessDenied) a role ARN other than the one it serves and a
// request without exactly one session tag named by TagKey, whose value must
// be a valid tag value. It answers with fresh random credentials that expire
// after a chosen time, remembers which tenant (tag value) each access key id
// was issued to, and counts calls per tenant. It signs and checks nothing
// else and keeps everything in memory: real IAM enforcement can only be
// shown on AWS.
package stslocal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TagKey is the session tag that carries the tenant.
const TagKey = "tenant"

// Server is a running AssumeRole endpoint. Its methods are safe for
// concurrent use.
type Server struct {
	srv     *httptest.Server
	roleARN string

	mu      sync.Mutex
	expiry  time.Duration
	latency time.Duration
	denied  map[string]bool
	calls   map[string]int    // per tenant
	issued  map[string]string // access key id -> tenant
	total   int
}

// Start serves AssumeRole for roleARN on a free loopback port, issuing
// credentials that expire after an hour until SetExpiry says otherwise.
func Start(roleARN string) *Server {
	s := &Server{
		roleARN: roleARN,
		expiry:  time.Hour,
		denied:  make(map[string]bool),
		calls:   make(map[string]int),
		issued:  make(map[string]string),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the endpoint's base URL.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Client returns a real aws-sdk-go-v2 STS client for the server with static
// dummy credentials (the application's own identity).
func (s *Server) Client(optFns ...func(*sts.Options)) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDAPPLICATION", "application-secret", ""),
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}, optFns...)
}

// SetExpiry sets how long credentials issued from now on live, whatever
// DurationSeconds the request asked for.
func (s *Server) SetExpiry(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiry = d
}

// SetLatency delays every answer by d, so concurrent callers overlap.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Deny makes AssumeRole for tenant fail with AccessDenied, as a trust
// policy that excludes the tenant would.
func (s *Server) Deny(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[tenant] = true
}

// Calls returns how many AssumeRole requests arrived, refused ones included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// CallsFor returns how many AssumeRole requests carried tenant as the tag.
func (s *Server) CallsFor(tenant string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[tenant]
}

// Tenants returns how many distinct tenants asked.
func (s *Server) Tenants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// TenantOf returns the tenant whose session an access key id belongs to.
func (s *Server) TenantOf(accessKeyID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.issued[accessKeyID]
	return t, ok
}

// tagValueRE is STS's pattern for tag values.
var tagValueRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		writeError(w, 400, "InvalidAction", "want a POST form")
		return
	}
	if a := r.PostForm.Get("Action"); a != "AssumeRole" {
		writeError(w, 400, "InvalidAction", "stslocal answers AssumeRole only, not "+a)
		return
	}
	tags := map[string][]string{}
	for i := 1; ; i++ {
		k := r.PostForm.Get(fmt.Sprintf("Tags.member.%d.Key", i))
		if k == "" {
			break
		}
		tags[k] = append(tags[k], r.PostForm.Get(fmt.Sprintf("Tags.member.%d.Value", i)))
	}
	tenant := ""
	if v := tags[TagKey]; len(v) == 1 {
		tenant = v[0]
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.calls[tenant]++
	switch {
	case r.PostForm.Get("RoleArn") != s.roleARN:
		writeError(w, 403, "AccessDenied", "not authorized to perform sts:AssumeRole on this role")
		return
	case len(tags[TagKey]) != 1 || tenant == "":
		writeError(w, 403, "AccessDenied", "the trust policy requires exactly one session tag "+TagKey)
		return
	case !tagValueRE.MatchString(tenant):
		writeError(w, 400, "ValidationError", "tag value does not satisfy the tag value pattern")
		return
	case s.denied[tenant]:
		writeError(w, 403, "AccessDenied", "not authorized to perform sts:TagSession for this tenant")
		return
	case r.PostForm.Get("RoleSessionName") == "":
		writeError(w, 400, "ValidationError", "RoleSessionName is required")
		return
	}
	akid := "ASIA" + strings.ToUpper(randHex(8))
	s.issued[akid] = tenant
	exp := time.Now().Add(s.expiry).UTC()
	var out assumeRoleResponse
	out.Result.Credentials = xmlCredentials{AccessKeyID: akid, SecretAccessKey: randHex(20), SessionToken: randHex(32), Expiration: exp.Format("2006-01-02T15:04:05.000Z")}
	out.Result.AssumedRoleUser.Arn = strings.Replace(strings.Replace(s.roleARN, ":iam:", ":sts:", 1), ":role/", ":assumed-role/", 1) + "/" + r.PostForm.Get("RoleSessionName")
	out.Result.AssumedRoleUser.AssumedRoleID = "AROA" + strings.ToUpper(randHex(8)) + ":" + r.PostForm.Get("RoleSessionName")
	out.Metadata.RequestID = randHex(16)
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(out)
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result  struct {
		Credentials     xmlCredentials `xml:"Credentials"`
		AssumedRoleUser struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
	} `xml:"AssumeRoleResult"`
	Metadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	type xmlError struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	var out struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Error     xmlError `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}
	out.Error = xmlError{Type: "Sender", Code: code, Message: msg}
	out.RequestID = randHex(16)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(out)
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("stslocal: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// AccessKeyID reads the access key id from a SigV4 Authorization header
// ("AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...").
func AccessKeyID(authorization string) string {
	_, rest, ok := strings.Cut(authorization, "Credential=")
	if !ok {
		return ""
	}
	akid, _, _ := strings.Cut(rest, "/")
	return akid
}
