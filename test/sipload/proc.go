package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// rss reads a process's resident set size in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// loadAverage is the machine's one-minute load average, as uptime prints it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// heap is what tonewall allocated on its heap so far.
type heap struct{ mallocs, bytes float64 }

// heapTotals reads go_memstats_mallocs_total and
// go_memstats_alloc_bytes_total from tonewall's /metrics. A build without
// /metrics gives an error.
func heapTotals(api string) (heap, error) {
	resp, err := http.Get("http://" + api + "/metrics")
	if err != nil {
		return heap{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return heap{}, fmt.Errorf("/metrics: %s", resp.Status)
	}
	var h heap
	want := map[string]*float64{"go_memstats_mallocs_total": &h.mallocs, "go_memstats_alloc_bytes_total": &h.bytes}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, _ := strings.Cut(sc.Text(), " ")
		if p := want[name]; p != nil {
			if *p, err = strconv.ParseFloat(v, 64); err != nil {
				return heap{}, fmt.Errorf("/metrics: %s: %w", name, err)
			}
			delete(want, name)
		}
	}
	if len(want) > 0 {
		return heap{}, fmt.Errorf("/metrics: %d of the go_memstats series missing", len(want))
	}
	return h, sc.Err()
}
