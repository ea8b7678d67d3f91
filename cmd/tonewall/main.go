// Command tonewall is a session border controller that keeps payment-card
// numbers out of contact centers. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tonewall/tonewall/internal/app"
	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/demo"
	"github.com/tonewall/tonewall/internal/sip"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `usage: tonewall <command> [flags]

commands:
  run     [--config FILE]   run the SBC (default: configs/tonewall.yaml if present, else the embedded default);
                            SIGTERM drains, SIGINT stops, SIGHUP reloads the file (docs/operations.md)
  check   [--config FILE]   validate a configuration and all that run needs short of listening:
                            TLS files load, vault and audit log open, addresses are this host's
  dtmf    detect|mask ...   find or mask keypad tones in recordings
  demo                      the whole product on loopback: a caller keys a card, the contact center gets a token
  audit   verify [--file F] check the audit log's hash chain (default ./data/audit.log)
  version                   print the version
`

func main() {
	os.Exit(runCLI(os.Args[1:], os.Stdout, os.Stderr))
}

func runCLI(args []string, stdout, stderr io.Writer) int {
	return tonewallCLI.dispatch(args, stdout, stderr)
}

// tonewallCLI is tonewall's command line.
var tonewallCLI = commands{name: "tonewall", usage: usage, run: map[string]command{
	"run":       func(args []string, _, stderr io.Writer) int { return runSBC(args, stderr) },
	"check":     runCheck,
	"dtmf":      dtmfCLI.dispatch,
	"audit":     runAudit,
	"demo":      runDemo,
	"version":   printVersion,
	"--version": printVersion,
	"-v":        printVersion,
}}

func printVersion(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "tonewall", version)
	return 0
}

// runDemo implements `tonewall demo`.
func runDemo(_ []string, stdout, stderr io.Writer) int {
	if err := demo.Run(context.Background(), stdout); err != nil {
		fmt.Fprintln(stderr, "tonewall demo:", err)
		return 1
	}
	return 0
}

const defaultConfig = "configs/tonewall.yaml"

// loadConfig reads --config, or the default path, or the embedded default.
func loadConfig(fs *flag.FlagSet, args []string) (*app.Config, string, error) {
	path := fs.String("config", "", "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	if *path != "" {
		c, err := app.Load(*path)
		return c, *path, err
	}
	if _, err := os.Stat(defaultConfig); err == nil {
		c, err := app.Load(defaultConfig)
		return c, defaultConfig, err
	}
	c, err := app.Parse("embedded default", app.Default)
	return c, "embedded default", err
}

// runCheck does what run does short of listening (see app.Check). A vault
// or audit log held by a running tonewall is a note, not a failure: check
// runs before a restart, beside the instance it replaces.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, name, err := loadConfig(fs, args)
	var held []error
	if err == nil {
		held, err = app.Check(cfg)
	}
	if err != nil {
		fmt.Fprintln(stderr, "tonewall check:", err)
		return 1
	}
	for _, h := range held {
		fmt.Fprintln(stdout, "note:", h)
	}
	fmt.Fprintf(stdout, "%s: ok\n", name)
	return 0
}

// runSBC runs tonewall. What an operator can get wrong (a file, an address,
// another instance on the same data) fails with one line before any log.
func runSBC(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, name, err := loadConfig(fs, args)
	if err == nil {
		err = preflight(cfg)
	}
	if err != nil {
		fmt.Fprintln(stderr, "tonewall run:", err)
		return 1
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "tonewall run:", err)
		return 1
	}
	defer func() { _ = log.Sync() }()
	log.Info("starting", zap.String("version", version), zap.String("config", name))
	raiseFileLimit(log)
	sip.RouteLibraryLogs(log.Named("sipgo"))
	a, err := app.New(cfg, log)
	if err != nil {
		log.Error("start failed", zap.Error(err))
		return 1
	}
	// SIGINT stops now; SIGTERM drains calls first; SIGHUP reloads.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ran := make(chan struct{})
	defer close(ran)
	go reloadOnHangup(a, hup, ran)
	drain := make(chan struct{})
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	defer signal.Stop(term)
	go func() {
		select {
		case <-term:
			close(drain)
		case <-ctx.Done():
		}
	}()
	if err := a.Run(ctx, drain); err != nil {
		log.Error("stopped with error", zap.Error(err))
		return 1
	}
	log.Info("stopped")
	return 0
}

// reloadOnHangup reloads the configuration file at each SIGHUP (and
// reopens the CDR file: logrotate's move, then HUP) until done. The
// outcome is logged, audited and counted by the app.
func reloadOnHangup(a *app.App, hup <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-hup:
			_, _, _ = a.Reload("signal:SIGHUP", "")
		case <-done:
			return
		}
	}
}

// preflight is app.Check for run: a part another process holds fails it.
func preflight(cfg *app.Config) error {
	held, err := app.Check(cfg)
	if err == nil && len(held) > 0 {
		err = held[0]
	}
	return err
}

// runAudit implements `tonewall audit verify`: exit 0 when the chain holds,
// 1 when it is broken (naming the first bad line), 2 on usage errors.
func runAudit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: tonewall audit verify [--file FILE]")
		return 2
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", audit.DefaultFile, "audit log to check")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	n, err := audit.VerifyFile(*file)
	if err != nil {
		fmt.Fprintf(stderr, "tonewall audit verify: %s: %v\n", *file, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d records, chain intact\n", *file, n)
	return 0
}

func newLogger(c app.Log, w io.Writer) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, err
	}
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	enc := zapcore.NewJSONEncoder(ec)
	if c.Format == "console" {
		enc = zapcore.NewConsoleEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), lvl)), nil
}
