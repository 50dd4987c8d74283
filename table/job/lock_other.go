//go:build !unix

package job

import "sync"

var fileLocks sync.Map // name -> *sync.Mutex

// lockFile serialises saves of one checkpoint file within this process
// only; see FileCheckpoints.
func lockFile(name string) (func(), error) {
	m, _ := fileLocks.LoadOrStore(name, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock, nil
}
