package itest

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in its own process group, so Close can kill the
// whole tree, and asks the kernel to SIGKILL it when the thread that started
// it dies. Go never retires an OS thread except one left locked by
// runtime.LockOSThread, so in practice the child dies with the test binary,
// even when that binary is killed with SIGKILL.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killTree kills the child's process group; a group already gone is fine.
func killTree(cmd *exec.Cmd) error {
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return err
	}
	return nil
}
