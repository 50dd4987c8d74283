package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/dynaseal/dynaseal/tenantkeys"
)

// resources are the clients an invocation made, built on first use.
type resources struct {
	aws     *aws.Config
	ddb     *dynamodb.Client
	wrapper tenantkeys.Wrapper
	store   *tenantkeys.Store
	cache   *tenantkeys.Cache
}

func (r *resources) close() {
	if r.cache != nil {
		r.cache.Flush() // zeroes the cached tenant keys
	}
}

// awsConfig loads the standard AWS SDK configuration (environment, shared
// config and credentials files, profile, IMDS), with --region and --profile
// applied.
func (c *cli) awsConfig(ctx context.Context) (aws.Config, error) {
	if c.res.aws != nil {
		return *c.res.aws, nil
	}
	var opts []func(*awsconfig.LoadOptions) error
	if c.g.region != "" {
		opts = append(opts, awsconfig.WithRegion(c.g.region))
	}
	if c.g.profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.g.profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" && (c.g.endpoint != "" || c.g.kmsEndpoint != "") {
		cfg.Region = "us-east-1" // a local endpoint ignores it, the SDK needs one
	}
	c.res.aws = &cfg
	return cfg, nil
}

// dynamo returns the DynamoDB client.
func (c *cli) dynamo(ctx context.Context) (*dynamodb.Client, error) {
	if c.res.ddb != nil {
		return c.res.ddb, nil
	}
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	endpoint := c.g.endpoint
	c.res.ddb = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// DynamoDB Local sends no CRC32 header on error answers, which
			// makes the SDK log a warning per failed condition; real
			// DynamoDB, even behind a VPC endpoint, keeps the check.
			o.DisableValidateResponseChecksum = isLoopback(endpoint)
		}
	})
	return c.res.ddb, nil
}

// isLoopback reports whether an endpoint URL names this machine.
func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// wrapperFor builds the Wrapper named by a KMS key, an alias pattern or a
// master key file; exactly one must be given.
func (c *cli) wrapperFor(ctx context.Context, kmsKey, kmsAlias, masterKeyFile, what string) (tenantkeys.Wrapper, error) {
	n := 0
	for _, s := range []string{kmsKey, kmsAlias, masterKeyFile} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, usagef("give exactly one %s: --kms-key, --kms-alias-pattern or --master-key-file", what)
	}
	if masterKeyFile != "" {
		ring, err := tenantkeys.LoadKeyringFile(masterKeyFile)
		if err != nil {
			return nil, err
		}
		return ring, nil
	}
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	endpoint := c.g.kmsEndpoint
	client := kms.NewFromConfig(cfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	sel := tenantkeys.SharedKey(kmsKey)
	if kmsAlias != "" {
		if err := tenantkeys.ValidateAliasPattern(kmsAlias); err != nil {
			return nil, usagef("--kms-alias-pattern: %v", err)
		}
		sel = tenantkeys.AliasPattern(kmsAlias)
	}
	return tenantkeys.NewKMSWrapper(client, sel), nil
}

// keyStore returns the tenant key store (Admin and Provider).
func (c *cli) keyStore(ctx context.Context) (*tenantkeys.Store, error) {
	if c.res.store != nil {
		return c.res.store, nil
	}
	if c.g.keyTable == "" {
		return nil, usagef("--key-table is required (the tenant key store table)")
	}
	w, err := c.wrapperFor(ctx, c.g.kmsKey, c.g.kmsAlias, c.g.masterKeyFile, "wrapping key")
	if err != nil {
		return nil, err
	}
	db, err := c.dynamo(ctx)
	if err != nil {
		return nil, err
	}
	c.res.wrapper = w
	c.res.store = tenantkeys.NewDynamoDBStore(db, c.g.keyTable, w, c.storeOptions()...)
	return c.res.store, nil
}

// storeOptions are the key store's options from the flags, plus extra.
func (c *cli) storeOptions(extra ...tenantkeys.Option) []tenantkeys.Option {
	opts := extra
	if c.g.storeName != "" {
		opts = append(opts, tenantkeys.WithStoreName(c.g.storeName))
	}
	return opts
}

// keys returns the Provider data commands read through: the key store
// behind a cache, so each tenant key is unwrapped once per run.
func (c *cli) keys(ctx context.Context) (tenantkeys.Provider, error) {
	if c.res.cache != nil {
		return c.res.cache, nil
	}
	s, err := c.keyStore(ctx)
	if err != nil {
		return nil, err
	}
	c.res.cache = tenantkeys.NewCache(s)
	return c.res.cache, nil
}

// awsError is a failed AWS call without the service's message text, which
// can quote request values (a validation message may hold an attribute
// value). It prints the operation, the error code and the HTTP status; the
// SDK error stays in the chain for errors.As.
type awsError struct {
	op     string
	code   string
	status int
	err    error
}

func newAWSError(op string, err error) error {
	if err == nil {
		return nil
	}
	e := &awsError{op: op, err: err}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.code = api.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		e.status = re.Response.StatusCode
	}
	return e
}

func (e *awsError) Error() string {
	var b strings.Builder
	b.WriteString(e.op)
	b.WriteString(" failed")
	if e.code != "" {
		b.WriteString(": ")
		b.WriteString(e.code)
	}
	if e.status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.status)
	}
	switch {
	case errors.Is(e.err, context.Canceled):
		b.WriteString(": interrupted")
	case errors.Is(e.err, context.DeadlineExceeded):
		b.WriteString(": deadline exceeded")
	case e.code == "" && e.status == 0:
		b.WriteString(": no answer (endpoint unreachable?)")
	}
	return b.String()
}

func (e *awsError) Unwrap() error { return e.err }
