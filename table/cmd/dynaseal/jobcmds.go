package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/job"
)

// jobRun is one job command's run: the table, its admin handle, the input
// and the progress view, ready to go.
type jobRun struct {
	d  *dataTable
	a  *table.Admin
	in table.JobInput
	pv *progressView
}

// prepare does what every job command does before it runs.
func (c *cli) prepare(ctx context.Context, jf *jobFlags, kind string, report func(table.ItemReport) bool) (*jobRun, error) {
	d, err := c.dataTable(ctx)
	if err != nil {
		return nil, err
	}
	a, err := c.admin(ctx, d, jf)
	if err != nil {
		return nil, err
	}
	total := int64(0)
	if jf.tenant == "" {
		total = d.itemCount
		if !jf.all {
			total /= int64(jf.segments)
		}
	}
	pv, err := c.newProgress(jf.progress, kind, total)
	if err != nil {
		return nil, err
	}
	in, err := c.input(ctx, jf, kind, pv)
	if err != nil {
		return nil, err
	}
	r := &jobRun{d: d, a: a, in: in, pv: pv}
	r.in.OnItem = func(ir table.ItemReport) {
		if report(ir) {
			c.itemReport(r, ir)
		}
	}
	return r, nil
}

// itemReportJSON is one item's report: its key and tenant, never a value.
type itemReportJSON struct {
	Outcome string         `json:"outcome"`
	Tenant  string         `json:"tenant,omitempty"`
	Key     map[string]any `json:"key"`
	Error   string         `json:"error,omitempty"`
}

// itemReport prints one item's report on stdout (the job's findings; the
// progress goes to stderr). Reports of concurrent segments are serialized.
func (c *cli) itemReport(r *jobRun, ir table.ItemReport) {
	key := map[string]types.AttributeValue{}
	if ir.Key.PK != nil {
		key[r.d.pk] = ir.Key.PK
	} else if r.d.pk == r.d.tenantAttr {
		key[r.d.pk] = &types.AttributeValueMemberS{Value: ir.Tenant}
	}
	if ir.Key.SK != nil && r.d.sk != "" {
		key[r.d.sk] = ir.Key.SK
	}
	if r.pv != nil { // lock order: the bar, then the output
		r.pv.mu.Lock()
		defer r.pv.mu.Unlock()
		if r.pv.drawn {
			fmt.Fprint(r.pv.w, "\r\033[K")
			r.pv.drawn = false
		}
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	errText := ""
	if ir.Err != nil {
		errText = ir.Err.Error()
	}
	if c.g.json {
		b, err := json.Marshal(itemReportJSON{Outcome: string(ir.Outcome), Tenant: ir.Tenant, Key: r.d.keyJSON(key), Error: errText})
		if err == nil {
			fmt.Fprintf(c.out, "%s\n", b)
		}
		return
	}
	line := fmt.Sprintf("%-12s %s", ir.Outcome, r.d.keyString(key))
	if errText != "" {
		line += ": " + errText
	}
	fmt.Fprintln(c.out, line)
}

// finishJob prints the stats (stdout) and maps the job's end to the exit.
func (c *cli) finishJob(ctx context.Context, jf *jobFlags, r *jobRun, kind string, stats any, text string, failed int64, err error) error {
	r.pv.finish()
	complete := err == nil
	if c.g.json {
		out := map[string]any{"job": kind, "table": r.d.name, "complete": complete, "stats": lowerKeys(stats)}
		if jf.tenant != "" {
			out["tenant"] = jf.tenant
		}
		if jf.jobID != "" {
			out["jobId"] = jf.jobID
		}
		if !jf.all {
			out["segment"], out["segments"] = jf.segment, jf.segments
		}
		if perr := c.printJSON(out); perr != nil {
			return perr
		}
	} else {
		state := "done"
		if !complete {
			state = "stopped"
		}
		fmt.Fprintf(c.out, "%s %s: %s\n", kind, state, text)
	}
	if err != nil {
		return jobEnd(ctx, jf, err)
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d items failed (listed above)", errItemsFailed, failed)
	}
	return nil
}

func reencryptCmd(fs *flag.FlagSet) func(context.Context, *cli) error {
	var jf jobFlags
	jf.register(fs, false)
	return func(ctx context.Context, c *cli) error {
		r, err := c.prepare(ctx, &jf, "reencrypt", func(ir table.ItemReport) bool {
			return jf.verbose || (ir.Outcome != table.OutcomeResealed && ir.Outcome != table.OutcomeGone)
		})
		if err != nil {
			return err
		}
		st, err := r.a.ReEncrypt(ctx, r.in)
		text := fmt.Sprintf("scanned %d, current %d, resealed %d, gone %d, failed %d (tampered %d, unverifiable %d, conflicts %d)",
			st.Scanned, st.Current, st.Resealed, st.Gone, st.Failed, st.Tampered, st.Unverifiable, st.Conflicts)
		if err == nil && len(st.SafeFloor) > 0 && !c.g.json {
			tenants := sortedKeys(st.SafeFloor)
			text += "\nsafe retirement floor per tenant (every item seen names this version or newer):"
			for _, t := range tenants {
				text += fmt.Sprintf("\n  %s: %d   (dynaseal keys retire --tenant %s --below %d --yes)", t, st.SafeFloor[t], t, st.SafeFloor[t])
			}
			if !jf.all && jf.segments > 1 {
				text += "\n  (this segment only: take the minimum over every segment's floor)"
			}
		}
		if st.SafeFloorTruncated && !c.g.json {
			text += "\nmore than 1000 tenants: no floor kept; run one-tenant passes to learn a tenant's floor"
		}
		return c.finishJob(ctx, &jf, r, "reencrypt", st, text, st.Failed, err)
	}
}

func sweepCmd(fs *flag.FlagSet) func(context.Context, *cli) error {
	var jf jobFlags
	jf.register(fs, false)
	return func(ctx context.Context, c *cli) error {
		r, err := c.prepare(ctx, &jf, "sweep", func(table.ItemReport) bool { return true })
		if err != nil {
			return err
		}
		// Without --schema there is nothing to drift from: the schema the
		// command builds names only the keys and the tenant.
		r.in.SkipDrift = jf.schemaFile == ""
		st, err := r.a.Sweep(ctx, r.in)
		text := fmt.Sprintf("scanned %d, current %d, stale %d, drift %d, tampered %d, unverifiable %d",
			st.Scanned, st.Current, st.Stale, st.Drift, st.Tampered, st.Unverifiable)
		return c.finishJob(ctx, &jf, r, "sweep", st, text, st.Tampered+st.Unverifiable, err)
	}
}

func purgeCmd(fs *flag.FlagSet) func(context.Context, *cli) error {
	var jf jobFlags
	jf.register(fs, true)
	yes := fs.Bool("yes", false, "confirm: the tenant's items are deleted")
	return func(ctx context.Context, c *cli) error {
		if jf.tenant == "" {
			return usagef("--tenant is required")
		}
		if !*yes {
			return usagef("purge deletes every item of tenant %s (it must be shredded); add --yes", jf.tenant)
		}
		r, err := c.prepare(ctx, &jf, "purge", func(ir table.ItemReport) bool {
			return jf.verbose || ir.Outcome != table.OutcomeDeleted && ir.Outcome != table.OutcomeGone
		})
		if err != nil {
			return err
		}
		st, err := r.a.Purge(ctx, r.in)
		text := fmt.Sprintf("tenant %s: scanned %d, deleted %d, kept %d (written after reopen), gone %d, failed %d",
			jf.tenant, st.Scanned, st.Deleted, st.Kept, st.Gone, st.Failed)
		return c.finishJob(ctx, &jf, r, "purge", st, text, st.Failed, err)
	}
}

func checkpointsCreateTable(fs *flag.FlagSet) func(context.Context, *cli) error {
	spec := fs.String("checkpoint", "", "dynamodb://TABLE (required)")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the table to become active")
	return func(ctx context.Context, c *cli) error {
		name, ok := strings.CutPrefix(*spec, "dynamodb://")
		if !ok || name == "" {
			return usagef("--checkpoint dynamodb://TABLE is required")
		}
		db, err := c.dynamo(ctx)
		if err != nil {
			return err
		}
		if _, err := db.CreateTable(ctx, job.CheckpointTableInput(name)); err != nil {
			return newAWSError("CreateTable "+name, err)
		}
		if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, *wait); err != nil {
			return fmt.Errorf("wait for table %s: %w", name, err)
		}
		return c.printCreated("checkpoint", name)
	}
}

// segmentJSON is one segment's checkpoint as shown.
type segmentJSON struct {
	Segment int        `json:"segment"`
	Found   bool       `json:"found"`
	Pass    string     `json:"pass,omitempty"`
	Scanned int64      `json:"scanned"`
	Done    bool       `json:"done"`
	Counts  job.Counts `json:"counts,omitempty"`
}

func checkpointsShow(fs *flag.FlagSet) func(context.Context, *cli) error {
	spec := fs.String("checkpoint", "", "file://DIR or dynamodb://TABLE (required)")
	id := fs.String("job-id", "", "job id (required)")
	segs := fs.Int("segments", 1, "number of segments of the job")
	return func(ctx context.Context, c *cli) error {
		if *spec == "" || *id == "" || *segs < 1 {
			return usagef("--checkpoint, --job-id and --segments are required")
		}
		cp, err := c.checkpointer(ctx, *spec)
		if err != nil {
			return err
		}
		var out []segmentJSON
		for seg := range *segs {
			st, ok, err := cp.Load(ctx, *id, seg)
			if err != nil {
				return err
			}
			out = append(out, segmentJSON{Segment: seg, Found: ok, Pass: st.Pass, Scanned: st.Scanned, Done: st.Done, Counts: st.Counts})
		}
		if c.g.json {
			return c.printJSON(out)
		}
		for _, s := range out {
			switch {
			case !s.Found:
				fmt.Fprintf(c.out, "segment %d: not started\n", s.Segment)
			default:
				state := "in progress"
				if s.Done {
					state = "done"
				}
				fmt.Fprintf(c.out, "segment %d: %s, %d items (%s)\n", s.Segment, state, s.Scanned, countsText(s.Counts))
			}
		}
		return nil
	}
}

// lowerKeys renders a stats struct as a JSON object whose keys start in
// lower case ("scanned", "safeFloor"), like the rest of the output.
func lowerKeys(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return v
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[strings.ToLower(k[:1])+k[1:]] = e
	}
	return out
}
