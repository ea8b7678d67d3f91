package main

import (
	"fmt"
	"io"
)

// runDTMF implements `tonewall dtmf ...`; the DTMF engine work replaces this file.
func runDTMF(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "tonewall dtmf: not built yet")
	return 2
}
