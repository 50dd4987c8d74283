//go:build unix && !linux

package itest

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in its own process group so Close can kill the
// whole tree. Outside Linux there is no parent-death signal: a test binary
// killed with SIGKILL leaves java running (Main and Close stop it otherwise).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killTree kills the child's process group; a group already gone is fine.
func killTree(cmd *exec.Cmd) error {
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return err
	}
	return nil
}
