package table_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynaseal/dynaseal/table"
	"github.com/dynaseal/dynaseal/table/job"
	"github.com/dynaseal/dynaseal/tenantkeys"
)

// envInt is the integer in $name, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// jobBench is a reference-item table of n items over ten tenants, read
// through a key cache as a production process would.
type jobBench struct {
	*env
	cache *tenantkeys.Cache
}

// jobBenchTable fills a reference-item table with n items over ten tenants
// and returns it with its store and cache.
func jobBenchTable(b *testing.B, n int) (*jobBench, *table.Table[Reference], string) {
	b.Helper()
	e := &jobBench{env: newEnv(b)}
	e.cache = tenantkeys.NewCache(e.store)
	name := createTable[Reference](b, e.env, "bench", nil)
	tb, err := table.New[Reference](e.c, name, e.cache)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	batch := make([]*Reference, 0, 25)
	for i := range n {
		r := referenceItem()
		r.Tenant = fmt.Sprintf("tenant-%04d", i%10)
		batch = append(batch, r)
		if len(batch) == 25 || i == n-1 {
			// A batch holds one tenant's items: group by tenant per call.
			by := map[string][]*Reference{}
			for _, x := range batch {
				by[x.Tenant] = append(by[x.Tenant], x)
			}
			for tenant, xs := range by {
				if err := tb.For(tenant).BatchWrite(ctx, xs, nil); err != nil {
					b.Fatal(err)
				}
			}
			batch = batch[:0]
		}
	}
	return e, tb, name
}

// rotateAll rotates every tenant's key and drops the cache's entries, so
// the next pass sees the new versions at once.
func rotateAll(b *testing.B, e *jobBench) {
	b.Helper()
	for i := range 10 {
		tenant := fmt.Sprintf("tenant-%04d", i)
		if _, err := e.store.Rotate(context.Background(), tenant, ""); err != nil {
			b.Fatal(err)
		}
		e.cache.Purge(tenant)
	}
}

// copyLoop is the baseline: a bare parallel Scan of src in segs segments,
// each item written to dst with PutItem, no crypto. It returns the items
// copied.
func copyLoop(b *testing.B, c *dynamodb.Client, src, dst string, segs int) int64 {
	b.Helper()
	var wg sync.WaitGroup
	counts := make([]int64, segs)
	for seg := range segs {
		wg.Go(func() {
			in := &dynamodb.ScanInput{TableName: aws.String(src)}
			if segs > 1 {
				in.Segment, in.TotalSegments = aws.Int32(int32(seg)), aws.Int32(int32(segs))
			}
			p := dynamodb.NewScanPaginator(c, in)
			for p.HasMorePages() {
				pg, err := p.NextPage(context.Background())
				if err != nil {
					b.Error(err)
					return
				}
				for _, it := range pg.Items {
					if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(dst), Item: it}); err != nil {
						b.Error(err)
						return
					}
					counts[seg]++
				}
			}
		})
	}
	wg.Wait()
	var n int64
	for _, x := range counts {
		n += x
	}
	return n
}

// BenchmarkReEncrypt measures re-encryption throughput (items/s) of a
// whole-table ReEncrypt after every tenant's key was rotated, with 1, 2 and
// 4 segments run concurrently, against DynamoDB Local. Each iteration also
// runs the baseline, a bare Scan plus PutItem copy loop over the same items
// with as many segments, and reports both rates and their ratio
// (reencrypt/copy). $DYNASEAL_BENCH_JOB_ITEMS sets the table size (default
// 1000).
func BenchmarkReEncrypt(b *testing.B) {
	n := envInt("DYNASEAL_BENCH_JOB_ITEMS", 1000)
	e, tb, name := jobBenchTable(b, n)
	dst := createTable[Reference](b, e.env, "copy", nil)
	ad := tb.Admin()
	ctx := context.Background()
	// Warm-up: DynamoDB Local's JIT, the key cache.
	copyLoop(b, e.c, name, dst, 1)
	rotateAll(b, e)
	if _, err := ad.ReEncrypt(ctx, table.JobInput{}); err != nil {
		b.Fatal(err)
	}
	for _, segs := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("segments=%d", segs), func(b *testing.B) {
			var job, base time.Duration
			var items, copied int64
			for b.Loop() {
				rotateAll(b, e)
				t0 := time.Now()
				copied += copyLoop(b, e.c, name, dst, segs)
				base += time.Since(t0)
				t1 := time.Now()
				st, err := ad.ReEncrypt(ctx, table.JobInput{Segments: segs, AllSegments: true})
				job += time.Since(t1)
				if err != nil || st.Resealed != int64(n) {
					b.Fatalf("%+v, %v", st, err)
				}
				items += st.Resealed
			}
			jr := float64(items) / job.Seconds()
			br := float64(copied) / base.Seconds()
			b.ReportMetric(jr, "items/s")
			b.ReportMetric(br, "copy-items/s")
			b.ReportMetric(jr/br, "ratio")
		})
	}
}

// BenchmarkReEncryptHeap runs one checkpointed whole-table ReEncrypt over
// $DYNASEAL_BENCH_HEAP_ITEMS items (default 2000; the README's figure is
// for 100000) and reports the live heap before the pass, its peak during
// the pass (sampled at each progress report, after a GC) and after it: a
// pass holds one page per segment, so the heap stays flat however large
// the table.
func BenchmarkReEncryptHeap(b *testing.B) {
	n := envInt("DYNASEAL_BENCH_HEAP_ITEMS", 2000)
	e, tb, _ := jobBenchTable(b, n)
	ad := tb.Admin()
	heap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapAlloc) / (1 << 20)
	}
	var before, peak, after float64
	for b.Loop() {
		rotateAll(b, e)
		cp, err := job.NewFileCheckpoints(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		before = heap()
		peak = before
		var mu sync.Mutex
		st, err := ad.ReEncrypt(context.Background(), table.JobInput{
			Checkpoints: cp, JobID: "heap", Segments: 2, AllSegments: true, ProgressEvery: 200 * time.Millisecond,
			Progress: func(job.Progress) {
				h := heap()
				mu.Lock()
				peak = max(peak, h)
				mu.Unlock()
			},
		})
		if err != nil || st.Resealed != int64(n) {
			b.Fatalf("%+v, %v", st, err)
		}
		after = heap()
	}
	b.ReportMetric(float64(n), "items")
	b.ReportMetric(before, "heap-before-MB")
	b.ReportMetric(peak, "heap-peak-MB")
	b.ReportMetric(after, "heap-after-MB")
}
