//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package itest

import "context"

// lockFile is a no-op where flock is unavailable; unpackAtomic alone keeps
// concurrent fetches correct, they merely download twice.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
