// Package hostile holds tonewall's hostile-input suite: each test runs the
// real binary as a child process (built once in TestMain), attacks it over
// loopback sockets and shows the edge held (design.md, non-negotiables 3
// and 4). Counts and durations are CI-sized; HOSTILE_FULL=1 (`make
// hostile`) scales them up and logs the figures BENCHMARKS.md quotes.
package hostile
