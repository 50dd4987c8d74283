package tenantkeys

import (
	"time"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"
)

// Option configures a Store or a Cache. Each option says which of the two
// honours it; the other ignores it.
type Option func(*options)

type options struct {
	audit          AuditFunc
	now            func() time.Time
	clockSet       bool
	createFirst    bool
	ttl            time.Duration
	maxEntries     int
	legacy         bool
	storeName      string
	tracerProvider tracing.TracerProvider
	meterProvider  metrics.MeterProvider
}

func buildOptions(opts []Option) options {
	o := options{
		now:        time.Now,
		ttl:        DefaultCacheTTL,
		maxEntries: DefaultCacheEntries,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithAudit reports key events to f (Store and Cache). Events never carry
// key material.
func WithAudit(f AuditFunc) Option { return func(o *options) { o.audit = f } }

// WithClock replaces time.Now (Store: timestamps of versions and
// tombstones; Cache: TTL expiry). Tests use it to expire entries without
// sleeping.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now, o.clockSet = now, true
		}
	}
}

// WithCreateOnFirstUse lets Store.CurrentKey create version 1 of a tenant
// key that does not exist yet (Store only; default off). Leave it off for a
// decrypt-only application role; with it on, the role also needs
// kms:GenerateDataKey and write access to the key store table. A shredded
// tenant is never re-created this way.
func WithCreateOnFirstUse(on bool) Option { return func(o *options) { o.createFirst = on } }

// WithTTL sets how long a Cache serves a key before asking the provider
// again (Cache only; default DefaultCacheTTL). It bounds how long a
// rotation, disable or shred done elsewhere, or a revoked KMS key, goes
// unnoticed by this process, and how long a warm cache rides out a KMS
// outage.
func WithTTL(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.ttl = d
		}
	}
}

// WithMaxEntries bounds the number of keys a Cache holds (Cache only;
// default DefaultCacheEntries).
func WithMaxEntries(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxEntries = n
		}
	}
}

// WithStoreName sets the key-store name bound into every record's
// authentication tag (Store only). The default is the DynamoDB table name
// ("memory" for NewMemoryStore). Pass the original name when a key store is
// restored from a backup into a table with another name; records of one key
// store are refused by a Store with another name (ErrKeyRecordTampered).
func WithStoreName(name string) Option { return func(o *options) { o.storeName = name } }

// WithLegacyRecords makes a Store accept key-store records without an
// authentication tag, as releases before record authentication wrote them
// (Store only; default off). It is a migration aid: while it is on, a
// key-table writer can strip tags and edit records unnoticed (wrapping keys
// and encryption contexts are still checked). Run Admin.Rewrap on every
// tenant to add tags, then turn it off.
func WithLegacyRecords(on bool) Option { return func(o *options) { o.legacy = on } }
