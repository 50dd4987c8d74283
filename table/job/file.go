package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// FileCheckpoints stores checkpoints as JSON files in a directory, one per
// job and segment (<dir>/<jobID>.<segment>.json). A save writes a
// temporary file, syncs it, renames it over the old one and syncs the
// directory, so a crash at any point leaves either the old or the new
// checkpoint, never a torn one. The sequence check of Save holds under an
// exclusive lock file (flock on Unix), so two processes on one machine
// cannot both advance a segment; on other systems, and for workers on
// several machines, use DynamoDBCheckpoints.
type FileCheckpoints struct {
	dir string
}

// NewFileCheckpoints returns checkpoints kept in dir, which it creates
// (0700) if needed.
func NewFileCheckpoints(dir string) (*FileCheckpoints, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpointStore, err)
	}
	return &FileCheckpoints{dir: dir}, nil
}

func (f *FileCheckpoints) path(jobID string, segment int) (string, error) {
	if err := ValidJobID(jobID); err != nil {
		return "", err
	}
	if segment < 0 {
		return "", fmt.Errorf("%w: negative segment", ErrInvalidJob)
	}
	return filepath.Join(f.dir, jobID+"."+strconv.Itoa(segment)+".json"), nil
}

// Load implements Checkpointer.
func (f *FileCheckpoints) Load(_ context.Context, jobID string, segment int) (State, bool, error) {
	p, err := f.path(jobID, segment)
	if err != nil {
		return State{}, false, err
	}
	return readState(p)
}

func readState(p string) (State, bool, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("%w: %w", ErrCheckpointStore, err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, false, fmt.Errorf("%w: %s", ErrCheckpointCorrupt, filepath.Base(p))
	}
	return st, true, nil
}

// Save implements Checkpointer.
func (f *FileCheckpoints) Save(_ context.Context, jobID string, segment int, st *State) error {
	p, err := f.path(jobID, segment)
	if err != nil {
		return err
	}
	unlock, err := lockFile(p + ".lock")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpointStore, err)
	}
	defer unlock()
	cur, found, err := readState(p)
	if err != nil {
		return err
	}
	if (!found && st.Seq != 0) || (found && cur.Seq != st.Seq) {
		return fmt.Errorf("%w: job %q segment %d", ErrCheckpointConflict, jobID, segment)
	}
	next := *st
	next.Seq++
	b, err := json.Marshal(&next)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpointStore, err)
	}
	if err := writeAtomic(p, b); err != nil {
		return fmt.Errorf("%w: %w", ErrCheckpointStore, err)
	}
	st.Seq = next.Seq
	return nil
}

// writeAtomic replaces p by b: temp file, fsync, rename, fsync of the
// directory.
func writeAtomic(p string, b []byte) error {
	dir := filepath.Dir(p)
	tmp, err := os.CreateTemp(dir, filepath.Base(p)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
