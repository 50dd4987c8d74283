package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrCheckpointConflict: another worker advanced the segment's
	// checkpoint since this worker loaded it (two workers ran the same
	// segment). Nothing was saved; the other worker owns the segment.
	ErrCheckpointConflict = errors.New("job: checkpoint was advanced by another worker")
	// ErrCheckpointMismatch: the stored checkpoint belongs to another pass
	// (another job kind, table or tenant) or to another number of
	// segments; resuming from it would skip or repeat items. Use another
	// job id, or the same parameters.
	ErrCheckpointMismatch = errors.New("job: checkpoint belongs to another pass")
	// ErrCheckpointCorrupt: a stored checkpoint does not parse.
	ErrCheckpointCorrupt = errors.New("job: checkpoint does not parse")
	// ErrCheckpointStore: the checkpoint store failed (I/O, DynamoDB).
	ErrCheckpointStore = errors.New("job: checkpoint store failed")
	// ErrInvalidJob: the job's parameters are unusable (segment out of
	// range, a bad job id, checkpoints without a job id).
	ErrInvalidJob = errors.New("job: invalid job parameters")
)

// Counts are a job's named counters. The job decides what they mean; they
// are saved with every checkpoint.
type Counts map[string]int64

// Clone returns a copy of c (never nil).
func (c Counts) Clone() Counts {
	out := make(Counts, len(c))
	maps.Copy(out, c)
	return out
}

// State is the checkpoint of one segment of one job.
type State struct {
	// Pass describes the pass (job kind, table, tenant); a resume checks it.
	Pass string
	// Segments is the number of segments of the pass.
	Segments int
	// Next is the encoded key to resume after (EncodeKey); empty: the
	// segment starts from its beginning. It holds key attributes only.
	Next []byte
	// Scanned is the number of items of the segment processed and saved.
	Scanned int64
	// Counts are the job's counters up to Next.
	Counts Counts
	// Done marks a finished segment: a resume does nothing.
	Done bool
	// Seq is the number of times the checkpoint was saved. Save succeeds
	// only if the stored checkpoint still has the Seq the caller loaded,
	// and increments it: of two workers on one segment only one advances.
	Seq uint64
}

// Checkpointer stores segment checkpoints. Implementations: FileCheckpoints
// and DynamoDBCheckpoints. They must be safe for concurrent use by the
// segments of one process.
type Checkpointer interface {
	// Load returns the checkpoint of (jobID, segment); found is false (and
	// State the zero value) when there is none.
	Load(ctx context.Context, jobID string, segment int) (st State, found bool, err error)
	// Save stores st as the checkpoint of (jobID, segment) on condition
	// that the stored one has sequence st.Seq (none stored for Seq 0), and
	// then sets st.Seq to the new sequence. A lost condition is
	// ErrCheckpointConflict. Marking a segment done is a Save with Done
	// set.
	Save(ctx context.Context, jobID string, segment int, st *State) error
}

var jobIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidJobID checks that id can name a job in every checkpoint store (a
// file name, a DynamoDB key): 1 to 128 letters, digits, '.', '_' or '-',
// starting with a letter or a digit.
func ValidJobID(id string) error {
	if !jobIDRE.MatchString(id) {
		return fmt.Errorf("%w: job id must be 1-128 letters, digits, '.', '_' or '-' and start with a letter or digit", ErrInvalidJob)
	}
	return nil
}
