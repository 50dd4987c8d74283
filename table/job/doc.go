// Package job is the machinery of dynaseal's resumable, segmented table
// passes (re-encrypt, integrity sweep, purge): checkpoints, a rate limiter,
// progress reports and the segment runner. It knows nothing of sealing;
// package table builds its jobs on it (Admin.ReEncrypt, Admin.Sweep,
// Admin.Purge).
//
// # Segments
//
// A pass over a table is split the way DynamoDB splits a parallel Scan:
// segment i of N. Each segment is read page by page, in order, by one
// worker; several processes or machines (N Lambda invocations, N ECS
// tasks) each run one segment and together cover the table exactly once.
// There is no scheduler: DynamoDB's segments are the unit of work.
//
// # Checkpoints and guarantees under failure
//
// After every page, once each of its items has been processed, the runner
// saves the segment's checkpoint: the page's LastEvaluatedKey and the
// counters. A worker that dies (kill -9, a Lambda timeout) resumes from the
// last saved checkpoint and processes again at most the one page it was in,
// so every item is processed at least once, and items are never skipped. A
// job's effect is exactly once because every write a job makes is
// conditional and idempotent (a reseal is conditioned on the stored
// signature and a resealed item is current the second time; a purge delete
// is conditioned on the signature it read), so processing an item a second
// time changes nothing. Counters are saved with the checkpoint, so counts
// survive a restart; the items of the page in flight when a worker died are
// counted again as they are found on resume. A finished segment is marked
// done and is not read again.
//
// Checkpoints never hold item values: a resume key is the primary key (and,
// for an index, the index key) of the last item of a page, which dynaseal
// always stores as signed plaintext, never encrypted.
//
// Memory is bounded by one page per segment: nothing per item outlives its
// page; per-item reports are streamed to a callback, never accumulated.
package job
