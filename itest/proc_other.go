//go:build !unix

package itest

import "os/exec"

func setProcAttr(*exec.Cmd) {}

func killTree(cmd *exec.Cmd) error { return cmd.Process.Kill() }
