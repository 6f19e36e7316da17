package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: Linux reports them in USER_HZ, which is
// 100 on every architecture Go supports.
const userHZ = 100

// cpuProc is a process whose CPU time the run reports per successful request (-cpu name=pid).
type cpuProc struct {
	name string
	pid  int
}

// parseCPUProcs parses -cpu: "name=pid,name=pid".
func parseCPUProcs(s string) ([]cpuProc, error) {
	var ps []cpuProc
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, pid, ok := strings.Cut(item, "=")
		n, err := strconv.Atoi(pid)
		if !ok || name == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("-cpu: %q is not name=pid", item)
		}
		ps = append(ps, cpuProc{name: name, pid: n})
	}
	return ps, nil
}

// procCPU returns the user+system CPU time the process pid has used so far (Linux /proc).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat line. The command
// name (field 2) is in parentheses and may itself hold spaces and parentheses: fields are counted
// after the last ')'.
func parseProcStat(line string) (time.Duration, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat: no command name")
	}
	f := strings.Fields(line[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command name", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || utime < 0 || stime < 0 {
		return 0, fmt.Errorf("proc stat: bad utime/stime %q %q", f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// selfCPU returns the CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter samples the CPU of the -cpu processes and of the load generator itself.
type cpuMeter struct {
	procs []cpuProc
	start []time.Duration // per proc; -1 when it could not be read
	self  time.Duration
}

func startCPU(procs []cpuProc) *cpuMeter {
	m := &cpuMeter{procs: procs, self: selfCPU()}
	for _, p := range procs {
		d, err := procCPU(p.pid)
		if err != nil {
			d = -1
		}
		m.start = append(m.start, d)
	}
	return m
}

// report returns "name 123µs ..." : CPU per successful request over the run, for each process and
// for the load generator ("load").
func (m *cpuMeter) report(ok int64) string {
	if ok <= 0 {
		return ""
	}
	var b strings.Builder
	for i, p := range m.procs {
		d, err := procCPU(p.pid)
		if err != nil || m.start[i] < 0 {
			fmt.Fprintf(&b, "%s ?  ", p.name)
			continue
		}
		fmt.Fprintf(&b, "%s %dµs  ", p.name, (d-m.start[i]).Microseconds()/ok)
	}
	fmt.Fprintf(&b, "load %dµs", (selfCPU()-m.self).Microseconds()/ok)
	return b.String()
}
