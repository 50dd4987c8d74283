//go:build ignore

// testsummary reads `go test -json` on stdin and prints what a reader of a CI
// log needs: one line per package (with its counts), every skipped or failed
// test, the full output of failed tests and of build failures, the DynamoDB
// Local launcher's "itest: " notes, and last a line "N passed, N failed". It
// exits 1 when anything failed.
//
//	go test -json ./... | go run .ci/testsummary.go
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type event struct {
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Output     string
}

type counts struct{ pass, fail, skip int }

func main() {
	var (
		total   counts
		perPkg  = map[string]*counts{}
		outputs = map[string]*strings.Builder{} // package+test → output so far
		failed  bool
	)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	for in.Scan() {
		line := in.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintf(out, "%s\n", line) // not test2json: pass through
			continue
		}
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
			continue
		case "build-fail":
			failed = true
			continue
		}
		c := perPkg[e.Package]
		if c == nil {
			c = &counts{}
			perPkg[e.Package] = c
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if e.Test == "" {
				// Package-level output: the ok/FAIL/? summary lines get counts;
				// anything else (panics, TestMain prints) is shown as is.
				o := strings.TrimRight(e.Output, "\n")
				switch {
				case strings.HasPrefix(o, "ok  \t"), strings.HasPrefix(o, "FAIL\t"):
					fmt.Fprintf(out, "%s\t(%d passed, %d failed, %d skipped)\n", o, c.pass, c.fail, c.skip)
				case o == "PASS", o == "FAIL", strings.HasPrefix(o, "=== "), strings.HasPrefix(o, "--- "):
				default:
					fmt.Fprintln(out, o)
				}
				continue
			}
			if strings.HasPrefix(e.Output, "itest: ") {
				// The DynamoDB Local launcher's notes (DYNASEAL_ITEST_VERBOSE):
				// which way it started, and how long that took.
				fmt.Fprintf(out, "%s: %s", e.Package, e.Output)
			}
			b := outputs[key]
			if b == nil {
				b = &strings.Builder{}
				outputs[key] = b
			}
			b.WriteString(e.Output)
		case "pass":
			if e.Test != "" {
				c.pass++
				total.pass++
			}
			delete(outputs, key)
		case "skip":
			if e.Test != "" {
				c.skip++
				total.skip++
				for _, l := range strings.Split(text(outputs[key]), "\n") {
					if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "=== ") {
						fmt.Fprintf(out, "    %s: %s\n", e.Test, l)
					}
				}
			}
			delete(outputs, key)
		case "fail":
			failed = true
			if e.Test != "" {
				c.fail++
				total.fail++
				fmt.Fprint(out, text(outputs[key]))
			}
			delete(outputs, key)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(out, "testsummary:", err)
		failed = true
	}
	fmt.Fprintf(out, "%d skipped\n%d passed, %d failed\n", total.skip, total.pass, total.fail)
	if failed {
		out.Flush()
		os.Exit(1)
	}
}

func text(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	return b.String()
}
