package main

import (
	"fmt"
	"io"
)

// command runs one subcommand on the arguments after its name and returns
// the exit status.
type command func(args []string, stdout, stderr io.Writer) int

// commands is a command line's subcommands by name, and its usage text.
type commands struct {
	name  string // what an error is prefixed with: "tonewall", "tonewall dtmf"
	usage string
	run   map[string]command
}

// dispatch runs the subcommand args[0] names. help, -h and --help print the
// usage to stdout (status 0); no subcommand or an unknown one prints it to
// stderr (status 2).
func (c commands) dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, c.usage)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, c.usage)
		return 0
	}
	if run, ok := c.run[args[0]]; ok {
		return run(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", c.name, args[0], c.usage)
	return 2
}
