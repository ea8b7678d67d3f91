package hostile

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest"
)

// bin is the tonewall binary the tests start, built once by TestMain.
var bin string

// full is set by HOSTILE_FULL=1: attacks at full size.
var full = os.Getenv("HOSTILE_FULL") == "1"

// size picks the CI count or the full one.
func size(ci, fullN int) int {
	if full {
		return fullN
	}
	return ci
}

func TestMain(m *testing.M) {
	// The in-process agents' sipgo logs nothing: its package logger is global.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	release := sbctest.Heavy() // not beside test/e2e's concurrent calls
	code := run(m)
	release()
	os.Exit(code)
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hostile-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "tonewall")
	build := exec.Command(goTool(), "build", "-o", bin, "github.com/tonewall/tonewall/cmd/tonewall")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tonewall:", err)
		return 1
	}
	return m.Run()
}

// goTool is the go command that is running these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}
