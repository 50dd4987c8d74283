package table

import (
	"fmt"
	"testing"

	"github.com/dynaseal/dynaseal/table/job"
)

// TestFloorCounts: a floor only goes down; a checkpointed pass keeps at
// most maxFloorTenants tenants and then reports no floor at all rather than
// an incomplete one; merging segments takes each tenant's minimum.
func TestFloorCounts(t *testing.T) {
	c := job.Counts{}
	lowerFloor(c, "a", 3, true)
	lowerFloor(c, "a", 5, true)
	lowerFloor(c, "a", 2, true)
	if f, trunc := floors(c); trunc || len(f) != 1 || f["a"] != 2 {
		t.Fatalf("floors %v %v", f, trunc)
	}
	for i := range maxFloorTenants + 1 {
		lowerFloor(c, fmt.Sprint("t", i), 1, true)
	}
	if f, trunc := floors(c); !trunc || f != nil {
		t.Fatalf("over the cap: %v %v, want truncated and no floor", len(f), trunc)
	}
	unbounded := job.Counts{}
	for i := range maxFloorTenants + 1 {
		lowerFloor(unbounded, fmt.Sprint("t", i), 1, false)
	}
	if f, trunc := floors(unbounded); trunc || len(f) != maxFloorTenants+1 {
		t.Fatalf("without checkpoints every tenant is kept: %d %v", len(f), trunc)
	}
	m := job.Counts{}
	mergeCounts(m, job.Counts{"resealed": 2, floorPrefix + "a": 4, floorPrefix + "b": 1})
	mergeCounts(m, job.Counts{"resealed": 3, floorPrefix + "a": 2})
	if f, _ := floors(m); m["resealed"] != 5 || f["a"] != 2 || f["b"] != 1 {
		t.Fatalf("merged %v", m)
	}
}
