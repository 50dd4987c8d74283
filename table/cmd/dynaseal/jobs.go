package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/job"
)

// jobFlags are the flags every job command takes.
type jobFlags struct {
	tenant     string
	index      string
	scan       bool
	segment    int
	segments   int
	all        bool
	checkpoint string
	jobID      string
	resume     bool
	rate       float64
	pageSize   int
	consistent bool
	progress   string
	verbose    bool
	schemaFile string
	// migrate only: the schema's actions beyond signing.
	encrypt, plain []string
}

func (jf *jobFlags) register(fs *flag.FlagSet, tenantRequired bool) {
	if tenantRequired {
		fs.StringVar(&jf.tenant, "tenant", "", "tenant whose items the job processes (required)")
	} else {
		fs.StringVar(&jf.tenant, "tenant", "", "process only this tenant's items (through its partition or a tenant index, not a table scan); default every tenant")
	}
	fs.StringVar(&jf.index, "index", "", "global secondary index whose partition key is the tenant attribute (default: found from the table)")
	fs.BoolVar(&jf.scan, "scan", false, "with --tenant: accept a filtered scan of the whole table when no partition key or index is the tenant")
	fs.IntVar(&jf.segment, "segment", 0, "run segment i (0-based) of --segments; give each worker its own")
	fs.IntVar(&jf.segments, "segments", 1, "number of segments the pass is split into (DynamoDB parallel scan)")
	fs.BoolVar(&jf.all, "all-segments", false, "run every segment of --segments concurrently in this process")
	fs.StringVar(&jf.checkpoint, "checkpoint", "", "where progress is saved after every page: file://DIR or dynamodb://TABLE")
	fs.StringVar(&jf.jobID, "job-id", "", "names the job in the checkpoints (required with --checkpoint)")
	fs.BoolVar(&jf.resume, "resume", false, "continue the job --job-id from its checkpoints")
	fs.Float64Var(&jf.rate, "rate", 0, "at most this many items per second (all segments of this process); 0 is unlimited")
	fs.IntVar(&jf.pageSize, "page-size", 0, "items per DynamoDB page (default: 1 MB pages)")
	fs.BoolVar(&jf.consistent, "consistent-read", false, "strongly consistent reads")
	fs.StringVar(&jf.progress, "progress", "auto", "progress on stderr: auto (a bar on a terminal, lines otherwise), bar, lines or none")
	fs.BoolVar(&jf.verbose, "verbose", false, "report every item written or deleted, not only failures and findings")
	fs.StringVar(&jf.schemaFile, "schema", "", "item schema file (JSON, as schema.ParseSpec reads): migrate seals with its actions, sweep reports items whose recorded actions differ")
}

// checkpointer opens the store --checkpoint names.
func (c *cli) checkpointer(ctx context.Context, spec string) (job.Checkpointer, error) {
	switch {
	case strings.HasPrefix(spec, "file://"):
		dir := strings.TrimPrefix(spec, "file://")
		if dir == "" {
			return nil, usagef("--checkpoint file://DIR needs a directory")
		}
		return job.NewFileCheckpoints(dir)
	case strings.HasPrefix(spec, "dynamodb://"):
		name := strings.TrimPrefix(spec, "dynamodb://")
		if name == "" {
			return nil, usagef("--checkpoint dynamodb://TABLE needs a table name")
		}
		db, err := c.dynamo(ctx)
		if err != nil {
			return nil, err
		}
		return job.NewDynamoDBCheckpoints(db, name), nil
	}
	return nil, usagef("--checkpoint must be file://DIR or dynamodb://TABLE, not %q", spec)
}

// input builds the JobInput and checks --resume against the checkpoints:
// a job id with saved checkpoints continues only with --resume, so two
// passes never share one by mistake.
func (c *cli) input(ctx context.Context, jf *jobFlags, kind string, pv *progressView) (table.JobInput, error) {
	in := table.JobInput{
		Tenant: jf.tenant, Index: jf.index, ScanTenant: jf.scan,
		Segment: jf.segment, Segments: jf.segments, AllSegments: jf.all,
		RateLimit: jf.rate, PageSize: int32(jf.pageSize), ConsistentRead: jf.consistent,
	}
	switch {
	case jf.segments < 1:
		return in, usagef("--segments must be at least 1")
	case !jf.all && (jf.segment < 0 || jf.segment >= jf.segments):
		return in, usagef("--segment %d is not in 0..%d", jf.segment, jf.segments-1)
	case jf.rate < 0 || jf.pageSize < 0 || jf.pageSize > 1<<31-1:
		return in, usagef("--rate and --page-size must not be negative")
	case jf.checkpoint == "" && (jf.jobID != "" || jf.resume):
		return in, usagef("--job-id and --resume need --checkpoint")
	case jf.checkpoint != "" && jf.jobID == "":
		return in, usagef("--checkpoint needs --job-id (reuse it with --resume to continue the job)")
	}
	if jf.checkpoint != "" {
		if err := job.ValidJobID(jf.jobID); err != nil {
			return in, fmt.Errorf("%w: %v", errUsage, err)
		}
		cp, err := c.checkpointer(ctx, jf.checkpoint)
		if err != nil {
			return in, err
		}
		in.Checkpoints, in.JobID = cp, jf.jobID
		segs := []int{jf.segment}
		if jf.all {
			segs = segs[:0]
			for i := range jf.segments {
				segs = append(segs, i)
			}
		}
		var found []string
		for _, seg := range segs {
			st, ok, err := cp.Load(ctx, jf.jobID, seg)
			if err != nil {
				return in, err
			}
			if ok {
				found = append(found, fmt.Sprintf("segment %d: %d items, done %v", seg, st.Scanned, st.Done))
			}
		}
		switch {
		case len(found) > 0 && !jf.resume:
			return in, usagef("job %s already has checkpoints (%s): add --resume to continue it, or choose another --job-id", jf.jobID, strings.Join(found, "; "))
		case len(found) == 0 && jf.resume:
			fmt.Fprintf(c.errw, "%s: no checkpoint of job %s yet: starting from the beginning\n", kind, jf.jobID)
		}
	}
	if pv != nil {
		in.Progress = pv.report
		in.ProgressEvery = pv.every()
	}
	return in, nil
}

// jobCommands lists the job commands.
func jobCommands() map[string][]command {
	return map[string][]command{
		"reencrypt": {{name: "reencrypt", summary: "reseal items under their tenant's current key (after a rotation)", flags: reencryptCmd,
			help: "Rewrites every item (of --tenant, or of every tenant) sealed under an older key version\nthan its tenant's current key, verifying each first and keeping every attribute exactly.\nResumable (--checkpoint, --job-id, --resume), segmented (--segment i --segments N) and\nrate-limited (--rate). Prints per tenant the floor below which key versions can be\nretired. Exit status 1 when items failed, 3 when interrupted (resume it).",
			examples: []string{
				"dynaseal reencrypt --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --table patients --tenant acme",
				"dynaseal reencrypt --region eu-west-1 --key-table tenant-keys --kms-key alias/dynaseal --table patients --tenant acme --checkpoint file://./ckpt --job-id rotate-acme",
				"dynaseal reencrypt --key-table tenant-keys --kms-key alias/dynaseal --table patients --segment 0 --segments 4 --checkpoint dynamodb://dynaseal-jobs --job-id reenc-2026-11 --rate 500",
				"dynaseal reencrypt --key-table tenant-keys --kms-key alias/dynaseal --table patients --segment 0 --segments 4 --checkpoint dynamodb://dynaseal-jobs --job-id reenc-2026-11 --resume",
			}}},
		"sweep": {{name: "sweep", summary: "verify every item without writing; report tampered, unverifiable and stale ones", flags: sweepCmd,
			help: "Verifies every item (of --tenant, or of every tenant) under the key its header names and\nreports, by key and never by value, each tampered, unverifiable or stale item (sealed under\nan older key version). Writes nothing. Exit status 1 when an item is tampered or\nunverifiable. With --schema it also reports items whose recorded actions differ from\nthe schema's (drift); without it, recorded actions are not compared.",
			examples: []string{
				"dynaseal sweep --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --table patients --json",
				"dynaseal sweep --key-table tenant-keys --kms-key alias/dynaseal --table patients --all-segments --segments 8 --checkpoint file://./ckpt --job-id sweep-nightly",
			}}},
		"purge": {{name: "purge", summary: "delete every item of a shredded tenant", flags: purgeCmd,
			help: "Deletes the items of a tenant whose keys were shredded (refused otherwise), including\ntheir signed plaintext, through its partition or a tenant index (or --scan). Items written\nafter 'keys reopen' verify and are kept. Needs --yes.",
			examples: []string{
				"dynaseal purge --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --table patients --tenant acme --yes",
				"dynaseal purge --key-table tenant-keys --kms-key alias/dynaseal --table orders --tenant-attr org --tenant acme --checkpoint file://./ckpt --job-id purge-acme --yes",
			}}},
		"migrate": {{name: "migrate", summary: "seal the items of a plaintext table in place", flags: migrateCmd,
			help: "Adopts a table written without dynaseal: seals every unsealed item under its tenant's\ncurrent key, encrypting the --encrypt attributes and leaving --plain ones outside the\nsignature (every other attribute is signed), or takes the actions from a --schema file,\neach write conditioned on the item being\nstill unsealed and unchanged, so the application (with table.WithMigration) keeps\nrunning. Items already sealed are counted, not touched. The table is fully sealed when a\ncomplete pass reports nothing left unsealed. Resumable and segmented like reencrypt.",
			examples: []string{
				"dynaseal migrate --endpoint-url http://localhost:8000 --key-table tenant-keys --master-key-file ./master.key --table patients --encrypt name,ssn --plain seen --create-keys",
				"dynaseal migrate --key-table tenant-keys --kms-key alias/dynaseal --table patients --encrypt name,ssn --segment 2 --segments 8 --checkpoint dynamodb://dynaseal-jobs --job-id adopt-patients --rate 1000",
			}}},
		"checkpoints": {
			{name: "create-table", summary: "create a DynamoDB table for job checkpoints", flags: checkpointsCreateTable,
				help: "Creates the table that --checkpoint dynamodb://TABLE uses, so workers on several\nmachines share one job's checkpoints.",
				examples: []string{
					"dynaseal checkpoints create-table --endpoint-url http://localhost:8000 --checkpoint dynamodb://dynaseal-jobs",
					"dynaseal checkpoints create-table --region eu-west-1 --checkpoint dynamodb://dynaseal-jobs",
				}},
			{name: "show", summary: "show a job's checkpoints", flags: checkpointsShow,
				help: "Shows each segment's saved progress: items processed, counters, done or not.",
				examples: []string{
					"dynaseal checkpoints show --checkpoint file://./ckpt --job-id reenc-2026-11 --segments 4 --json",
					"dynaseal checkpoints show --endpoint-url http://localhost:8000 --checkpoint dynamodb://dynaseal-jobs --job-id reenc-2026-11 --segments 4",
					"dynaseal checkpoints show --region eu-west-1 --checkpoint dynamodb://dynaseal-jobs --job-id reenc-2026-11 --segments 4",
				}},
		},
	}
}

// isStop reports whether err means the job was interrupted (a signal, a
// deadline), so it can be resumed.
func isStop(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// jobEnd turns a job's error into the command's, after the stats were
// printed.
func jobEnd(ctx context.Context, jf *jobFlags, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, table.ErrNeedsTenantIndex):
		return usagef("%v: name a global secondary index on the tenant attribute with --index, or add --scan to scan the whole table", err)
	case errors.Is(err, table.ErrInvalidJob):
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if isStop(ctx, err) {
		if jf.checkpoint != "" {
			return fmt.Errorf("%w; run it again with --resume --job-id %s to continue", errStopped, jf.jobID)
		}
		return fmt.Errorf("%w; without --checkpoint a new run starts over", errStopped)
	}
	if jf.checkpoint != "" {
		// An outage (DynamoDB, the key store) stops a checkpointed job
		// rather than skipping items; what was done is saved.
		return fmt.Errorf("%w (progress is saved: run it again with --resume --job-id %s)", err, jf.jobID)
	}
	return err
}
