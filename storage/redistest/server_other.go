//go:build !linux

package redistest

import "syscall"

// sysProcAttr: elsewhere there is no parent-death signal; cleanups and Main stop the servers.
func sysProcAttr() *syscall.SysProcAttr { return nil }
