package tenantkeys

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// SessionTagTenant is the session tag TenantRoles puts the tenant id in. A
// key policy compares it with the request's encryption context:
// "aws:PrincipalTag/tenant" against "kms:EncryptionContext:tenant".
const SessionTagTenant = "tenant"

// Defaults of TenantRoles.
const (
	// DefaultTenantRoleDuration is how long each tenant's assumed-role
	// credentials live (STS accepts 15 minutes to the role's maximum).
	DefaultTenantRoleDuration = 15 * time.Minute
	// DefaultTenantRoleRefresh is how long before expiry credentials are
	// refreshed, so that no KMS call runs on credentials about to expire.
	DefaultTenantRoleRefresh = time.Minute
)

// AssumeRoleAPI is the part of the aws-sdk-go-v2 STS client TenantRoles
// uses; *sts.Client satisfies it.
type AssumeRoleAPI = stscreds.AssumeRoleAPIClient

// TenantRoles gives each tenant its own KMS client, signed with credentials
// of a role in the central key account that is assumed with the tenant as
// the session tag SessionTagTenant. The key policy can then allow a call
// only when the caller's tag matches the tenant in the encryption context,
// so even the application's own role cannot use one tenant's credentials
// for another tenant's key (see the README's IAM section).
//
// Credentials are cached per tenant and refreshed before they expire; each
// tenant's AssumeRole runs once per credential lifetime however many
// goroutines ask at the same time (aws.CredentialsCache). Every tenant
// client shares the base client's options, HTTP client and connection pool.
// Entries are kept for the life of the TenantRoles: one per tenant seen.
type TenantRoles struct {
	sts     AssumeRoleAPI
	roleARN string
	base    kms.Options
	opts    tenantRoleOptions

	mu      sync.Mutex
	tenants map[string]*tenantRole
}

type tenantRole struct {
	creds  *aws.CredentialsCache
	client *kms.Client
}

type tenantRoleOptions struct {
	duration   time.Duration
	refresh    time.Duration
	externalID string
}

// TenantRoleOption configures TenantRoles.
type TenantRoleOption func(*tenantRoleOptions)

// WithRoleDuration sets how long assumed-role credentials live (default
// DefaultTenantRoleDuration; STS needs at least 15 minutes).
func WithRoleDuration(d time.Duration) TenantRoleOption {
	return func(o *tenantRoleOptions) { o.duration = d }
}

// WithRoleRefresh sets how long before expiry credentials are refreshed
// (default DefaultTenantRoleRefresh).
func WithRoleRefresh(d time.Duration) TenantRoleOption {
	return func(o *tenantRoleOptions) { o.refresh = d }
}

// WithRoleExternalID sets the external id the role's trust policy may
// require (sts:ExternalId).
func WithRoleExternalID(id string) TenantRoleOption {
	return func(o *tenantRoleOptions) { o.externalID = id }
}

// NewTenantRoles returns per-tenant KMS clients for roleARN, a role in the
// key account, assumed through stsAPI (usually an *sts.Client with the
// application's own credentials). base is the KMS client whose options
// (region, endpoint, retryer, HTTP client) every tenant client copies; only
// its credentials are replaced.
func NewTenantRoles(stsAPI AssumeRoleAPI, roleARN string, base *kms.Client, opts ...TenantRoleOption) *TenantRoles {
	r := &TenantRoles{
		sts:     stsAPI,
		roleARN: roleARN,
		base:    base.Options(),
		opts:    tenantRoleOptions{duration: DefaultTenantRoleDuration, refresh: DefaultTenantRoleRefresh},
		tenants: make(map[string]*tenantRole),
	}
	for _, o := range opts {
		o(&r.opts)
	}
	return r
}

// WithTenantRoles makes a KMSWrapper call KMS with each tenant's own client
// from r, for every operation of that tenant.
func WithTenantRoles(r *TenantRoles) KMSOption {
	return WithTenantClients(r.Client)
}

// WithTenantClients makes a KMSWrapper call KMS through the client that
// client returns for the tenant of each operation, instead of the client
// given to NewKMSWrapper.
func WithTenantClients(client func(ctx context.Context, tenant string) (KMSAPI, error)) KMSOption {
	return func(w *KMSWrapper) { w.clientFor = client }
}

// Client returns tenant's KMS client, assuming the role for the tenant on
// first use and whenever its credentials near expiry. Failures wrap
// ErrInvalidName (the tenant id cannot be a session tag value),
// ErrAccessDenied (STS refused) or ErrKMSUnavailable (STS did not answer).
func (r *TenantRoles) Client(ctx context.Context, tenant string) (KMSAPI, error) {
	if err := validateTagValue(tenant); err != nil {
		return nil, err
	}
	r.mu.Lock()
	e, ok := r.tenants[tenant]
	if !ok {
		e = r.newTenantLocked(tenant)
		r.tenants[tenant] = e
	}
	r.mu.Unlock()
	// Fetch (or reuse) the credentials now, so an STS failure is reported
	// as such rather than inside a KMS error.
	if _, err := e.creds.Retrieve(ctx); err != nil {
		return nil, stsError(tenant, err)
	}
	return e.client, nil
}

func (r *TenantRoles) newTenantLocked(tenant string) *tenantRole {
	provider := stscreds.NewAssumeRoleProvider(r.sts, r.roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = sessionName(tenant)
		o.Duration = r.opts.duration
		o.Tags = []ststypes.Tag{{Key: aws.String(SessionTagTenant), Value: aws.String(tenant)}}
		if r.opts.externalID != "" {
			o.ExternalID = aws.String(r.opts.externalID)
		}
	})
	creds := aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = r.opts.refresh
	})
	opts := r.base.Copy()
	opts.Credentials = creds
	return &tenantRole{creds: creds, client: kms.New(opts)}
}

// validateTagValue checks that tenant fits an STS session tag value: at
// most 256 characters of letters, digits, spaces and _.:/=+-@.
func validateTagValue(tenant string) error {
	if err := ValidateTenant(tenant); err != nil { // also at most 256 bytes
		return err
	}
	for _, c := range tenant {
		if !unicode.IsLetter(c) && !unicode.IsNumber(c) && !unicode.Is(unicode.Z, c) && !strings.ContainsRune("_.:/=+-@", c) {
			return fmt.Errorf("%w: tenant id holds a character a session tag value cannot", ErrInvalidName)
		}
	}
	return nil
}

// sessionName derives the role session name (2 to 64 characters of
// [\w+=,.@-]) from the tenant id. It shows in CloudTrail next to the tag;
// the tag, not the name, is what policies match.
func sessionName(tenant string) string {
	var b strings.Builder
	b.WriteString("dynaseal-")
	for _, c := range tenant {
		if b.Len() >= 64 {
			break
		}
		if c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("_+=,.@-", c)) {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// stsError maps a failed AssumeRole to the package's sentinels.
func stsError(tenant string, err error) error {
	var (
		api smithy.APIError
		ne  net.Error
	)
	sentinel := ErrKMSUnavailable
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("tenantkeys: assume role for tenant %q: %w", tenant, err)
	case errors.As(err, &api):
		switch code := api.ErrorCode(); {
		case code == "AccessDenied", code == "AccessDeniedException", code == "RegionDisabledException",
			code == "ExpiredTokenException", code == "InvalidClientTokenId", code == "SignatureDoesNotMatch":
			sentinel = ErrAccessDenied
		case strings.Contains(code, "Throttl"), api.ErrorFault() == smithy.FaultServer:
			sentinel = ErrKMSUnavailable
		default:
			return fmt.Errorf("tenantkeys: assume role for tenant %q: %w", tenant, err)
		}
	case errors.As(err, &ne):
		sentinel = ErrKMSUnavailable
	}
	return fmt.Errorf("%w: assume role for tenant %q: %w", sentinel, tenant, err)
}

var _ AssumeRoleAPI = (*sts.Client)(nil)
