package tenantkeys

import (
	"context"

	"github.com/aws/smithy-go/metrics"
	"github.com/aws/smithy-go/tracing"
)

// Instrument names (see WithMeterProvider and WithTracerProvider).
const (
	// MetricCacheHits and MetricCacheMisses count Cache lookups served from
	// memory and lookups that went to the provider (or waited for a load).
	MetricCacheHits   = "dynaseal.tenantkeys.cache.hits"
	MetricCacheMisses = "dynaseal.tenantkeys.cache.misses"
	// SpanUnwrap is the span around each unwrap of a stored tenant key by
	// the Store's Wrapper (a KMS Decrypt for the KMS wrapper).
	SpanUnwrap = "dynaseal.tenantkeys.Unwrap"
)

const instrumentationScope = "github.com/dynaseal/dynaseal/tenantkeys"

// WithTracerProvider traces with tp (smithy-go's interface, the one
// aws-sdk-go-v2 clients take) a span SpanUnwrap around every key unwrap
// (Store only), with the key class and version as properties.
func WithTracerProvider(tp tracing.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// WithMeterProvider counts cache hits and misses with mp (smithy-go's
// interface) as MetricCacheHits and MetricCacheMisses (Cache only).
func WithMeterProvider(mp metrics.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

// cacheMeters returns the hit and miss counters, nil without a provider.
func cacheMeters(o options) (hits, misses metrics.Int64Counter) {
	if o.meterProvider == nil {
		return nil, nil
	}
	m := o.meterProvider.Meter(instrumentationScope)
	hits, err := m.Int64Counter(MetricCacheHits)
	if err != nil {
		hits = nil
	}
	misses, err = m.Int64Counter(MetricCacheMisses)
	if err != nil {
		misses = nil
	}
	return hits, misses
}

func count(ctx context.Context, c metrics.Int64Counter) {
	if c != nil {
		c.Add(ctx, 1)
	}
}
