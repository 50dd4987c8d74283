package table_test

import (
	"context"
	"log"
	"os"
	"strconv"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/job"
)

// One worker of a re-encryption split over N workers (for example N ECS
// tasks, each given its index): run it again with the same JobID after a
// crash and it resumes from its checkpoint.
func ExampleAdmin_ReEncrypt() {
	ctx := context.Background()
	i, _ := strconv.Atoi(os.Getenv("WORKER_INDEX"))
	n, _ := strconv.Atoi(os.Getenv("WORKER_COUNT"))
	st, err := patientsTable().Admin().ReEncrypt(ctx, table.JobInput{
		JobID:       "rotate-2026-11",
		Checkpoints: job.NewDynamoDBCheckpoints(dynamoClient(), "dynaseal-jobs"),
		Segment:     i, Segments: n,
		RateLimit: 500, // items/s for this worker
		Progress: func(p job.Progress) {
			log.Printf("segment %d/%d: %d items, %.0f/s", p.Segment, p.Segments, p.Scanned, p.Rate)
		},
		OnItem: func(r table.ItemReport) {
			if r.Err != nil {
				log.Printf("%s %v: %s: %v", r.Tenant, r.Key.SK, r.Outcome, r.Err)
			}
		},
	})
	if err != nil {
		log.Fatal(err) // run the worker again: it resumes
	}
	log.Printf("resealed %d, failed %d", st.Resealed, st.Failed)
}

// Deleting what a shredded tenant left behind.
func ExampleAdmin_Purge() {
	st, err := patientsTable().Admin().Purge(context.Background(), table.JobInput{Tenant: "tenant-gone"})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("deleted %d items, kept %d written after a reopen", st.Deleted, st.Kept)
}
