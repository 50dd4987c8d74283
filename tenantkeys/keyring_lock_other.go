//go:build !unix

package tenantkeys

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// lockFile takes an exclusive lock by creating name with O_EXCL, waiting
// while another holder has it, and returns its release (which removes the
// file). A holder that crashed leaves the file behind: remove it by hand.
func lockFile(name string) (func(), error) {
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return func() { f.Close(); os.Remove(name) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		time.Sleep(wait)
	}
}

// syncDir is a no-op where directories cannot be opened for sync.
func syncDir(string) error { return nil }
