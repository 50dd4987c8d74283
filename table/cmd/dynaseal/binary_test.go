package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinary builds the command and runs the binary: main's wiring, --help
// with its examples, exit statuses, and one real key command against
// DynamoDB Local.
func TestBinary(t *testing.T) {
	f := newFixture(t)
	bin := filepath.Join(t.TempDir(), "dynaseal")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exe := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var out, errw strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errw
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return out.String(), errw.String(), 0
		case errors.As(err, &ee):
			return out.String(), errw.String(), ee.ExitCode()
		}
		t.Fatalf("run %v: %v", args, err)
		return "", "", -1
	}

	out, _, code := exe("--help")
	if code != 0 || !strings.Contains(out, "keys rotate") || !strings.Contains(out, "--endpoint-url http://localhost:8000") || !strings.Contains(out, "--kms-key alias/") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
	out, _, code = exe("keys", "shred", "--help")
	if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "--yes") {
		t.Errorf("keys shred --help: exit %d\n%s", code, out)
	}
	for name, cmds := range commands() {
		for _, c := range cmds {
			local, aws := false, false
			for _, e := range c.examples {
				local = local || strings.Contains(e, "--endpoint-url http://localhost:8000")
				aws = aws || !strings.Contains(e, "--endpoint-url")
			}
			if !local || !aws {
				t.Errorf("%s %s: examples lack DynamoDB Local (%v) or AWS (%v)", name, c.name, local, aws)
			}
			args := []string{name}
			if c.name != name {
				args = append(args, c.name)
			}
			out, _, code := exe(append(args, "--help")...)
			if code != 0 || !strings.Contains(out, "Examples:\n  dynaseal") || !strings.Contains(out, "--endpoint-url") {
				t.Errorf("%v --help: exit %d\n%s", args, code, out)
			}
		}
	}
	if _, errOut, code := exe("nope"); code != exitUsage || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d, %s", code, errOut)
	}

	// The process inherits the fixture's AWS environment.
	out, errOut, code := exe("keys", "create", "--endpoint-url", f.endpoint, "--key-table", f.keyTable,
		"--master-key-file", f.masterKey, "--tenant", "bin-tenant", "--json")
	if code != 0 || !strings.Contains(out, `"tenant": "bin-tenant"`) {
		t.Fatalf("keys create: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Setenv("DYNASEAL_KEY_TABLE", f.keyTable)
	out, errOut, code = exe("keys", "versions", "--endpoint-url", f.endpoint, "--master-key-file", f.masterKey, "--tenant", "bin-tenant")
	if code != 0 || !strings.Contains(out, "VERSION") {
		t.Fatalf("keys versions via DYNASEAL_KEY_TABLE: exit %d\n%s\n%s", code, out, errOut)
	}

	// An interrupt stops a job (exit 3) with its checkpoint saved; the
	// same job id resumes it to the end.
	f.seedMany(t, 30, "sig")
	f.run(t, "keys", "rotate", "--tenant", "sig").ok(t, "rotate")
	ckpt := "file://" + filepath.Join(t.TempDir(), "ckpt")
	jobArgs := []string{"reencrypt", "--endpoint-url", f.endpoint, "--master-key-file", f.masterKey, "--table", f.table,
		"--tenant", "sig", "--checkpoint", ckpt, "--job-id", "sig-1", "--page-size", "4", "--progress", "lines"}
	cmd := exec.Command(bin, append(jobArgs, "--rate", "8")...)
	var jobOut, jobErr strings.Builder
	cmd.Stdout, cmd.Stderr = &jobOut, &jobErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitStopped || !strings.Contains(jobErr.String(), "--resume") {
		t.Fatalf("interrupted job: %v\n%s\n%s", err, jobOut.String(), jobErr.String())
	}
	out, errOut, code = exe(append(jobArgs, "--resume")...)
	if code != 0 || !strings.Contains(out, "reencrypt done") {
		t.Fatalf("resumed job: exit %d\n%s\n%s", code, out, errOut)
	}
	for k, v := range f.versions(t) {
		if strings.HasPrefix(k, "sig/") && v != 2 {
			t.Errorf("%s at version %d after the resume", k, v)
		}
	}
}
