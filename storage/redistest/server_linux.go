package redistest

import "syscall"

// sysProcAttr makes the kernel kill a redis-server this test binary started when the binary dies
// without running its cleanups (a test timeout, a crash), so that no server outlives its tests.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
