package tenantkeys

import (
	"context"
	"log/slog"
	"time"

	"github.com/dynaseal/dynaseal/attrcrypt"
)

// EventType names a key event reported to an audit hook.
type EventType string

// Key events. Store reports create, rotate, disable, enable, retire,
// rewrap, shred, reopen and unwrap; Cache reports evict (an entry dropped and zeroed because it
// expired, was displaced or purged).
const (
	EventCreate  EventType = "create"
	EventRotate  EventType = "rotate"
	EventDisable EventType = "disable"
	EventEnable  EventType = "enable"
	EventRetire  EventType = "retire" // Ref.Version is the new floor
	EventRewrap  EventType = "rewrap"
	EventShred   EventType = "shred"
	EventReopen  EventType = "reopen"
	EventUnwrap  EventType = "unwrap"
	EventEvict   EventType = "evict"
)

// Event describes one key event. It never carries key material: only the
// key reference, the wrapping key id and the outcome.
type Event struct {
	Type EventType
	// Ref names the tenant key. For shred and reopen only Tenant is set;
	// for evict the Version is 0 when the entry was a current-key entry.
	Ref attrcrypt.KeyRef
	// KMSKeyID is the wrapping key (KMS key ARN or "local:<id>"), when
	// known.
	KMSKeyID string
	// Time is when the event happened, by the reporting component's clock.
	Time time.Time
	// Err is the failure, for unwrap events that failed; nil otherwise.
	// Its message holds no key bytes.
	Err error
}

// AuditFunc receives key events. It is called synchronously on the
// goroutine that caused the event, so it must be fast and must not call
// back into the provider.
type AuditFunc func(ctx context.Context, e Event)

// SlogAudit returns an AuditFunc that writes each event to l at level Info
// (Warn for failures), with attributes event, tenant, class, version,
// kms_key_id and error.
func SlogAudit(l *slog.Logger) AuditFunc {
	return func(ctx context.Context, e Event) {
		level := slog.LevelInfo
		attrs := []slog.Attr{
			slog.String("event", string(e.Type)),
			slog.String("tenant", e.Ref.Tenant),
			slog.String("class", classLabel(e.Ref.Class)),
			slog.Uint64("version", uint64(e.Ref.Version)),
		}
		if e.KMSKeyID != "" {
			attrs = append(attrs, slog.String("kms_key_id", e.KMSKeyID))
		}
		if e.Err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("error", e.Err.Error()))
		}
		l.LogAttrs(ctx, level, "dynaseal key event", attrs...)
	}
}
