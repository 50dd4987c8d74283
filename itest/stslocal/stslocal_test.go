package stslocal_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/dynaseal/dynaseal/itest/stslocal"
)

const role = "arn:aws:iam::999988887777:role/keys"

func assume(s *stslocal.Server, t *testing.T, roleARN string, tags ...types.Tag) (*sts.AssumeRoleOutput, error) {
	return s.Client().AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("s"), Tags: tags,
	})
}

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TestAssumeRole: the real STS client gets credentials with the chosen
// expiry, and the server knows which tenant each access key belongs to.
func TestAssumeRole(t *testing.T) {
	s := stslocal.Start(role)
	defer s.Close()
	s.SetExpiry(90 * time.Second)
	before := time.Now()
	out, err := assume(s, t, role, tag("tenant", "acme"))
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if aws.ToString(c.AccessKeyId) == "" || aws.ToString(c.SecretAccessKey) == "" || aws.ToString(c.SessionToken) == "" {
		t.Fatalf("incomplete credentials %+v", c)
	}
	if d := c.Expiration.Sub(before); d < 89*time.Second || d > 92*time.Second {
		t.Errorf("expires in %v, want 90s", d)
	}
	if tenant, ok := s.TenantOf(aws.ToString(c.AccessKeyId)); !ok || tenant != "acme" {
		t.Errorf("TenantOf = %q, %v", tenant, ok)
	}
	if _, ok := s.TenantOf("ASIAOTHER"); ok {
		t.Error("unknown access key has a tenant")
	}
	if s.Calls() != 1 || s.CallsFor("acme") != 1 {
		t.Errorf("calls %d, for acme %d", s.Calls(), s.CallsFor("acme"))
	}
}

// TestAssumeRoleRefusals: the trust policy it stands in for.
func TestAssumeRoleRefusals(t *testing.T) {
	s := stslocal.Start(role)
	defer s.Close()
	s.Deny("banned")
	for name, c := range map[string]struct {
		role string
		tags []types.Tag
		want string
	}{
		"other role":     {"arn:aws:iam::999988887777:role/other", []types.Tag{tag("tenant", "a")}, "AccessDenied"},
		"no tag":         {role, nil, "AccessDenied"},
		"other tag only": {role, []types.Tag{tag("team", "a")}, "AccessDenied"},
		"two tenants":    {role, []types.Tag{tag("tenant", "a"), tag("tenant", "b")}, "AccessDenied"},
		"bad value":      {role, []types.Tag{tag("tenant", "a#b")}, "ValidationError"},
		"denied tenant":  {role, []types.Tag{tag("tenant", "banned")}, "AccessDenied"},
	} {
		if _, err := assume(s, t, c.role, c.tags...); code(err) != c.want {
			t.Errorf("%s: err = %v, want %s", name, err, c.want)
		}
	}
}

func TestAccessKeyID(t *testing.T) {
	h := "AWS4-HMAC-SHA256 Credential=ASIA123/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=abc"
	if got := stslocal.AccessKeyID(h); got != "ASIA123" {
		t.Errorf("AccessKeyID = %q", got)
	}
	if got := stslocal.AccessKeyID(""); got != "" {
		t.Errorf("AccessKeyID(\"\") = %q", got)
	}
}
