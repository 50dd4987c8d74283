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

func killTree(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
