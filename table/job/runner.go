package job

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Page is one page of a segment: its items and the key to resume after it
// (DynamoDB's LastEvaluatedKey; empty on the last page).
type Page struct {
	Items []map[string]types.AttributeValue
	Next  map[string]types.AttributeValue
}

// Source reads the page of a segment that follows start (nil: the first
// page). It is a Scan of one segment, or a Query.
type Source func(ctx context.Context, start map[string]types.AttributeValue) (Page, error)

// Handler processes one item and records its outcome in counts. It returns
// an error only to stop the segment (an outage, a cancelled context); an
// item that cannot be processed is counted and reported by the handler,
// not returned. It must be idempotent: after a restart it may see items of
// the interrupted page again.
type Handler func(ctx context.Context, item map[string]types.AttributeValue, counts Counts) error

// Progress is a progress report of one segment.
type Progress struct {
	// JobID is the job's id ("" without checkpoints).
	JobID string
	// Segment and Segments locate the segment in the pass.
	Segment, Segments int
	// Scanned is the number of items of the segment processed, including
	// those of earlier runs resumed from the checkpoint.
	Scanned int64
	// Counts are the job's counters (a copy).
	Counts Counts
	// Rate is the items processed per second in this run.
	Rate float64
	// Elapsed is the time since this run of the segment started.
	Elapsed time.Duration
	// Done reports the segment finished (the last report of a segment).
	Done bool
}

// Segment runs one segment of a pass.
type Segment struct {
	// JobID names the job in the checkpoint store (ValidJobID). Needed
	// with Checkpoints.
	JobID string
	// Pass describes the pass (job kind, table, tenant). It is saved in
	// the checkpoint, and a resume of another pass under the same JobID is
	// refused with ErrCheckpointMismatch.
	Pass string
	// Segment is this segment, 0 <= Segment < Segments.
	Segment int
	// Segments is the number of segments of the pass (0 means 1).
	Segments int
	// Checkpoints stores the segment's progress; nil runs without
	// checkpoints (a restart starts over).
	Checkpoints Checkpointer
	// Limiter bounds items per second (nil: unlimited).
	Limiter *Limiter
	// Progress, when set, is called at most once per ProgressEvery and
	// once when the segment is done, on the segment's goroutine.
	Progress func(Progress)
	// ProgressEvery is the minimum interval between progress reports
	// (default one second).
	ProgressEvery time.Duration
}

// Check validates the segment's parameters.
func (s *Segment) Check() error {
	n := max(s.Segments, 1)
	if s.Segment < 0 || s.Segment >= n {
		return fmt.Errorf("%w: segment %d of %d", ErrInvalidJob, s.Segment, n)
	}
	if s.Checkpoints != nil || s.JobID != "" {
		if err := ValidJobID(s.JobID); err != nil {
			return err
		}
	}
	return nil
}

// Run reads the segment from its checkpoint (or from the start), calls h
// for every item of every page, and saves the checkpoint after each page
// is processed. It returns the counts of the whole segment (earlier runs
// included). A segment already done returns its saved counts at once.
func (s *Segment) Run(ctx context.Context, src Source, h Handler) (Counts, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	segs := max(s.Segments, 1)
	st := State{Pass: s.Pass, Segments: segs, Counts: Counts{}}
	if s.Checkpoints != nil {
		loaded, found, err := s.Checkpoints.Load(ctx, s.JobID, s.Segment)
		if err != nil {
			return nil, err
		}
		if found {
			if loaded.Pass != s.Pass || loaded.Segments != segs {
				return nil, fmt.Errorf("%w: job %q segment %d was saved for %q with %d segments, not %q with %d",
					ErrCheckpointMismatch, s.JobID, s.Segment, loaded.Pass, loaded.Segments, s.Pass, segs)
			}
			st = loaded
			if st.Counts == nil {
				st.Counts = Counts{}
			}
		}
	}
	start := time.Now()
	every := s.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	var lastReport time.Time
	var thisRun int64
	report := func(done bool) {
		if s.Progress == nil {
			return
		}
		now := time.Now()
		if !done && now.Sub(lastReport) < every {
			return
		}
		lastReport = now
		el := now.Sub(start)
		rate := 0.0
		if el > 0 {
			rate = float64(thisRun) / el.Seconds()
		}
		s.Progress(Progress{JobID: s.JobID, Segment: s.Segment, Segments: segs, Scanned: st.Scanned,
			Counts: st.Counts.Clone(), Rate: rate, Elapsed: el, Done: done})
	}
	if st.Done {
		report(true)
		return st.Counts, nil
	}
	next, err := DecodeKey(st.Next)
	if err != nil {
		return nil, err
	}
	for {
		page, err := src(ctx, next) // a done ctx fails the read, as the source reports it
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return st.Counts, err
		}
		for _, item := range page.Items {
			if err := s.Limiter.Wait(ctx, 1); err != nil {
				return st.Counts, err
			}
			if err := h(ctx, item, st.Counts); err != nil {
				return st.Counts, err
			}
			st.Scanned++
			thisRun++
			report(false)
		}
		if st.Next, err = EncodeKey(page.Next); err != nil {
			return st.Counts, err
		}
		st.Done = len(page.Next) == 0
		if s.Checkpoints != nil {
			if err := s.Checkpoints.Save(ctx, s.JobID, s.Segment, &st); err != nil {
				return st.Counts, err
			}
		}
		if st.Done {
			report(true)
			return st.Counts, nil
		}
		next = page.Next
	}
}
