package table

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/schema"
	"github.com/dynaseal/dynaseal/table/job"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// Sentinel errors of the jobs; test with errors.Is.
var (
	// ErrNeedsTenantIndex: a one-tenant job needs to read the tenant's
	// items without scanning the table, and the table's partition key is
	// not the tenant attribute and no index declared with WithIndex has
	// the tenant attribute as its partition key. Declare one, or set
	// JobInput.ScanTenant to accept a filtered scan of the whole table.
	ErrNeedsTenantIndex = errors.New("table: one-tenant job needs the tenant as partition key or a tenant index")
	// ErrTenantNotShredded: Purge was asked to delete the items of a
	// tenant whose keys were not shredded.
	ErrTenantNotShredded = errors.New("table: tenant is not shredded")
	// ErrInvalidJob: a JobInput is unusable (segment out of range, a bad
	// job id, a one-tenant query split into segments). It is job.ErrInvalidJob.
	ErrInvalidJob = job.ErrInvalidJob
)

// Admin is an untyped handle on a dynaseal table for operations that read
// across tenants and need no Go type: the jobs ReEncrypt, Sweep and Purge.
// It works from the actions each item's header records, so it is safe on
// items written by newer program versions. Build one with NewAdmin (from a
// schema, as a command that has no Go types does) or Table.Admin. It is
// safe for concurrent use.
type Admin struct {
	e *engine
}

// NewAdmin returns an admin handle on the DynamoDB table name whose items
// follow schema s. Options are those of New (WithKeyClass, WithLogicalName,
// WithIndex, WithSealerConfig...); WithCodec and WithSchema are ignored.
func NewAdmin(client Client, name string, keys tenantkeys.Provider, s *schema.Schema, opts ...Option) (*Admin, error) {
	if client == nil || keys == nil || name == "" || s == nil {
		return nil, errors.New("table: NewAdmin needs a client, a table name, a key provider and a schema")
	}
	e, err := newEngine(client, name, keys, s, newConfig(opts))
	if err != nil {
		return nil, err
	}
	return &Admin{e: e}, nil
}

// Admin returns the untyped admin handle sharing t's client, keys, schema
// and options.
func (t *Table[T]) Admin() *Admin { return &Admin{e: t.engine} }

// Name returns the physical table name.
func (a *Admin) Name() string { return a.e.name }

// Schema returns the schema the handle was built with.
func (a *Admin) Schema() *schema.Schema { return a.e.schema }

// JobInput says what a job does and how it runs. The zero value runs a
// whole-table pass, serially, without checkpoints.
type JobInput struct {
	// Tenant restricts the job to one tenant's items ("" = every tenant).
	// One tenant is read through its partition (the table's partition key
	// is the tenant attribute) or an index whose partition key is the
	// tenant attribute, never by a scan, unless ScanTenant is set.
	Tenant string
	// Index names the index to read one tenant through; "" picks the
	// first declared index (by name) whose partition key is the tenant.
	Index string
	// ScanTenant accepts a scan of the whole table filtered on the tenant
	// when neither the partition key nor an index is the tenant. It reads
	// (and pays for) every item of the table.
	ScanTenant bool
	// Segment and Segments run segment Segment of Segments (0 or 1: the
	// whole pass): several workers, each with its segment, share one pass.
	// A one-tenant query is one segment (Segments must be 0 or 1).
	Segment, Segments int
	// AllSegments runs every segment of Segments concurrently in this
	// process (Segment is ignored) and returns the summed stats.
	AllSegments bool
	// Checkpoints stores each segment's progress after every page, so a
	// job resumes where it stopped (nil: no checkpoints; a restart starts
	// over, which is safe but redoes the work).
	Checkpoints job.Checkpointer
	// JobID names the job in Checkpoints (job.ValidJobID); required with
	// Checkpoints. Resuming means running again with the same JobID and
	// the same job, table, tenant and Segments.
	JobID string
	// RateLimit bounds the items processed per second (by all segments of
	// this call together); 0 is unlimited.
	RateLimit float64
	// PageSize is the DynamoDB Limit per page (0: DynamoDB's 1 MB pages).
	// Memory is bounded by one page per segment.
	PageSize int32
	// ConsistentRead asks for strongly consistent reads.
	ConsistentRead bool
	// Progress receives progress reports of each segment, at most once per
	// ProgressEvery (default one second) and when a segment is done. With
	// AllSegments it is called from several goroutines at once.
	Progress func(job.Progress)
	// ProgressEvery is the minimum interval between two reports of one
	// segment.
	ProgressEvery time.Duration
	// SkipDrift makes Sweep skip the comparison of each item's recorded
	// actions with the schema's, for a tool whose schema names only the
	// keys and the tenant (it has no Go type for the items); such a sweep
	// never reports drift.
	SkipDrift bool
	// OnItem receives a report for every item that is not simply fine
	// (see each job), with its key and never its values. It runs on the
	// segment's goroutine; with AllSegments, on several at once.
	OnItem func(ItemReport)
}

// Outcome is what a job did with, or found about, one item.
type Outcome string

// Outcomes reported through JobInput.OnItem.
const (
	// OutcomeResealed: ReEncrypt rewrote the item under the current key.
	OutcomeResealed Outcome = "resealed"
	// OutcomeGone: the item was deleted by someone else during the job.
	OutcomeGone Outcome = "gone"
	// OutcomeTampered: the item failed verification (ErrTampered).
	OutcomeTampered Outcome = "tampered"
	// OutcomeUnverifiable: the key the item names could not be had
	// (shredded, retired, disabled, the key store unavailable).
	OutcomeUnverifiable Outcome = "unverifiable"
	// OutcomeConflict: ReEncrypt lost to application writes three times.
	OutcomeConflict Outcome = "conflict"
	// OutcomeStale: Sweep found the item sealed under an older key
	// version (or another key class) than its tenant's current key.
	OutcomeStale Outcome = "stale"
	// OutcomeDrift: Sweep found the item's recorded actions differ from
	// the schema's (a field newly encrypted, added or dropped).
	OutcomeDrift Outcome = "drift"
	// OutcomeDeleted: Purge deleted the item.
	OutcomeDeleted Outcome = "deleted"
	// OutcomeKept: Purge kept the item: it verifies under a live key of
	// the tenant (written after ReopenAfterShred).
	OutcomeKept Outcome = "kept"
	// OutcomeFailed: Purge could not decide about the item (Err says why)
	// and left it.
	OutcomeFailed Outcome = "failed"
)

// ItemReport is one item's report. Key and Tenant are key attributes,
// stored as signed plaintext; no value of the item is in it.
type ItemReport struct {
	Key     Key
	Tenant  string
	Outcome Outcome
	// Err is why, for failures; nil otherwise.
	Err error
}

// Counter names of the jobs' checkpointed counts.
const (
	cScanned      = "scanned"
	cCurrent      = "current"
	cResealed     = "resealed"
	cGone         = "gone"
	cFailed       = "failed"
	cTampered     = "tampered"
	cUnverifiable = "unverifiable"
	cConflict     = "conflict"
	cStale        = "stale"
	cDrift        = "drift"
	cDeleted      = "deleted"
	cKept         = "kept"
	floorPrefix   = "floor/"  // floor/<tenant>: lowest key version still named
	floorOverflow = "floor-!" // set when more tenants than maxFloorTenants were seen
)

// maxFloorTenants bounds the SafeFloor entries kept in a checkpoint (which
// must fit one DynamoDB item); beyond it the floor is not reported.
const maxFloorTenants = 1000

// report sends r to in.OnItem.
func (in *JobInput) report(e *engine, item map[string]types.AttributeValue, o Outcome, err error) {
	if in.OnItem == nil {
		return
	}
	r := ItemReport{Key: e.keyOfItem(item), Outcome: o, Err: err}
	if tv, ok := item[e.schema.Tenant].(*types.AttributeValueMemberS); ok {
		r.Tenant = tv.Value
	}
	in.OnItem(r)
}

// run runs the job kind over the segments in asks for, with a fresh
// handler per segment, and returns the merged counts.
func (a *Admin) run(ctx context.Context, in *JobInput, kind string, handler func() job.Handler) (job.Counts, error) {
	segs := max(in.Segments, 1)
	lim := job.NewLimiter(in.RateLimit)
	one := func(seg int) (job.Counts, error) {
		src, via, err := a.source(in, seg, segs)
		if err != nil {
			return nil, err
		}
		s := job.Segment{
			JobID: in.JobID, Pass: fmt.Sprintf("%s table=%s tenant=%q via=%s", kind, a.e.name, in.Tenant, via),
			Segment: seg, Segments: segs, Checkpoints: in.Checkpoints, Limiter: lim,
			Progress: in.Progress, ProgressEvery: in.ProgressEvery,
		}
		return s.Run(ctx, src, handler())
	}
	if !in.AllSegments {
		c, err := one(in.Segment)
		return c, err
	}
	all := make([]job.Counts, segs)
	errs := make([]error, segs)
	var wg sync.WaitGroup
	for seg := range segs {
		wg.Go(func() { all[seg], errs[seg] = one(seg) })
	}
	wg.Wait()
	merged := job.Counts{}
	for _, c := range all {
		mergeCounts(merged, c)
	}
	return merged, errors.Join(errs...)
}

// mergeCounts adds src to dst: counters add up, floors take the minimum.
// The result is reported, never saved, so it is not capped.
func mergeCounts(dst, src job.Counts) {
	for k, v := range src {
		if !strings.HasPrefix(k, floorPrefix) {
			dst[k] += v
			continue
		}
		lowerFloor(dst, k[len(floorPrefix):], v, false)
	}
}

// lowerFloor records in c that an item of tenant names key version v.
// bounded caps the number of tenants (for a checkpoint).
func lowerFloor(c job.Counts, tenant string, v int64, bounded bool) {
	k := floorPrefix + tenant
	old, ok := c[k]
	switch {
	case ok:
		c[k] = min(old, v)
	case bounded && c[floorOverflow] > 0:
	case bounded && c[floorOverflow+"n"] >= maxFloorTenants:
		c[floorOverflow] = 1
	default:
		c[k] = v
		if bounded {
			c[floorOverflow+"n"]++
		}
	}
}

// floors extracts the SafeFloor map of c (nil when it overflowed).
func floors(c job.Counts) (map[string]uint32, bool) {
	if c[floorOverflow] > 0 {
		return nil, true
	}
	var m map[string]uint32
	for k, v := range c {
		if t, ok := strings.CutPrefix(k, floorPrefix); ok {
			if m == nil {
				m = make(map[string]uint32)
			}
			m[t] = uint32(v)
		}
	}
	return m, false
}

// source returns the page reader of segment seg of segs for in, and how it
// reads ("scan", "partition", "index:<name>", "filtered-scan").
func (a *Admin) source(in *JobInput, seg, segs int) (job.Source, string, error) {
	e := a.e
	if in.Tenant == "" {
		return a.scanSource(in, seg, segs, nil), "scan", nil
	}
	query := func(ix *Index) (job.Source, string, error) {
		if segs > 1 {
			return nil, "", fmt.Errorf("%w: a one-tenant pass reads one partition, which DynamoDB cannot split into segments; use Segments 1", ErrInvalidJob)
		}
		return a.querySource(in, ix), "partition", nil
	}
	if in.Index == "" && e.pkIsTenant {
		return query(nil)
	}
	names := make([]string, 0, len(e.indexes))
	for n, ix := range e.indexes {
		if ix.PartitionKey == e.schema.Tenant && (in.Index == "" || in.Index == n) {
			names = append(names, n)
		}
	}
	if len(names) > 0 {
		slices.Sort(names)
		ix := e.indexes[names[0]]
		src, _, err := query(&ix)
		return src, "index:" + ix.Name, err
	}
	if in.Index != "" {
		return nil, "", fmt.Errorf("%w: no declared index %q has the tenant attribute %q as partition key", ErrNeedsTenantIndex, in.Index, e.schema.Tenant)
	}
	if in.ScanTenant {
		var c expr
		c.add(c.name(e.schema.Tenant) + " = " + c.value(S(in.Tenant)))
		return a.scanSource(in, seg, segs, &c), "filtered-scan", nil
	}
	return nil, "", fmt.Errorf("%w: table %q", ErrNeedsTenantIndex, e.name)
}

// scanSource reads segment seg of segs of a Scan, filtered by filter when
// not nil.
func (a *Admin) scanSource(in *JobInput, seg, segs int, filter *expr) job.Source {
	e := a.e
	return func(ctx context.Context, start map[string]types.AttributeValue) (job.Page, error) {
		si := scanInput(e.name, seg, segs, in.PageSize, in.ConsistentRead)
		si.ExclusiveStartKey = start
		if filter != nil {
			si.FilterExpression = filter.String()
			si.ExpressionAttributeNames, si.ExpressionAttributeValues = filter.names, filter.values
		}
		out, err := e.client.Scan(ctx, si)
		if err != nil {
			return job.Page{}, fmt.Errorf("table: job scan: %w", ddbError("Scan", err))
		}
		return job.Page{Items: out.Items, Next: out.LastEvaluatedKey}, nil
	}
}

// querySource reads the tenant's items with a Query on its partition (ix
// nil) or on index ix. An index that does not project every attribute is
// followed by a strongly consistent GetItem of each item.
func (a *Admin) querySource(in *JobInput, ix *Index) job.Source {
	e := a.e
	return func(ctx context.Context, start map[string]types.AttributeValue) (job.Page, error) {
		var c expr
		qi := &dynamodb.QueryInput{TableName: aws.String(e.name), ExclusiveStartKey: start,
			KeyConditionExpression: aws.String(c.name(e.schema.Tenant) + " = " + c.value(S(in.Tenant)))}
		qi.ExpressionAttributeNames, qi.ExpressionAttributeValues = c.names, c.values
		if ix != nil {
			qi.IndexName = aws.String(ix.Name)
		}
		if in.PageSize > 0 {
			qi.Limit = aws.Int32(in.PageSize)
		}
		if in.ConsistentRead && ix == nil { // a GSI cannot be read consistently
			qi.ConsistentRead = aws.Bool(true)
		}
		out, err := e.client.Query(ctx, qi)
		if err != nil {
			return job.Page{}, fmt.Errorf("table: job query: %w", ddbError("Query", err))
		}
		items := out.Items
		if ix != nil && ix.Projection != types.ProjectionTypeAll {
			items = items[:0:0]
			for _, it := range out.Items {
				g, err := e.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.name), Key: e.keyMapOfItem(it), ConsistentRead: aws.Bool(true)})
				if err != nil {
					return job.Page{}, fmt.Errorf("table: job get: %w", ddbError("GetItem", err))
				}
				if g.Item != nil {
					items = append(items, g.Item)
				}
			}
		}
		return job.Page{Items: items, Next: out.LastEvaluatedKey}, nil
	}
}

// ofTenant reports whether item belongs to tenant ("" = any).
func (a *Admin) ofTenant(item map[string]types.AttributeValue, tenant string) bool {
	if tenant == "" {
		return true
	}
	tv, ok := item[a.e.schema.Tenant].(*types.AttributeValueMemberS)
	return ok && tv.Value == tenant
}

// classifyFailure counts a failed item in c as tampered or unverifiable and
// returns its outcome.
func classifyFailure(c job.Counts, err error) Outcome {
	c[cFailed]++
	switch {
	case errors.Is(err, ErrTampered):
		c[cTampered]++
		return OutcomeTampered
	case errors.Is(err, ErrConflict):
		c[cConflict]++
		return OutcomeConflict
	}
	c[cUnverifiable]++
	return OutcomeUnverifiable
}
