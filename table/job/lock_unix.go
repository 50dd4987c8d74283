//go:build unix

package job

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on name (created 0600 if missing) and
// returns its release. flock locks belong to the open file, so two
// goroutines of one process exclude each other as two processes do.
func lockFile(name string) (func(), error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
