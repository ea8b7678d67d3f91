package app

import (
	"encoding/hex"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/audit"
)

// LiveKeys are the keys a reload puts in force without a restart. A
// reload that changes any other key is refused as a whole, naming each
// such key: half a configuration in force is worse than the old one.
var LiveKeys = []string{
	"trunks", "routes", "api.keys",
	"sip.limits.max_calls", "sip.limits.retry_after",
	"sip.limits.max_connections", "sip.limits.max_connections_per_source",
}

// errNeedsRestart is why a reload refuses a key that is not live.
var errNeedsRestart = errors.New("needs a restart")

// reloader is the App's reload state: the configuration in force (what
// the next file is compared with) and the reload series.
type reloader struct {
	mu      sync.Mutex // one reload at a time
	live    *Config    // guarded by mu
	results *prometheus.CounterVec
	success prometheus.Gauge
}

func newReloader(cfg *Config, reg prometheus.Registerer) *reloader {
	f := promauto.With(reg)
	r := &reloader{live: cfg,
		results: f.NewCounterVec(prometheus.CounterOpts{Name: "tonewall_config_reloads_total",
			Help: "Configuration reloads (SIGHUP or POST /v1/reload), by result: applied or refused."}, []string{"result"}),
		success: f.NewGauge(prometheus.GaugeOpts{Name: "tonewall_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration in force was put in force: the start, or the last reload applied."}),
	}
	r.success.SetToCurrentTime()
	return r
}

// Reload re-reads the file the configuration was loaded from (app.Load)
// and applies it as Apply does; actor and source say who asked, for the
// audit log ("signal:SIGHUP", or an API key's name and client address).
// The CDR file is reopened first, whatever becomes of the configuration:
// logrotate moves it and signals. It returns the file's SHA-256 (hex) and
// the keys that changed. It implements api.Reloader.
func (a *App) Reload(actor, source string) (sum string, changed []string, err error) {
	a.reload.mu.Lock()
	defer a.reload.mu.Unlock()
	if err := a.cdr.Reopen(); err != nil {
		a.log.Error("cdr file not reopened", zap.Error(err))
	}
	file := a.reload.live.file
	if file == "" {
		err = errors.New("the configuration was not read from a file (tonewall run --config FILE): nothing to reload")
		return "", nil, a.refused(nil, actor, source, err)
	}
	next, err := Load(file)
	if err != nil {
		return "", nil, a.refused(nil, actor, source, err)
	}
	return a.apply(next, actor, source)
}

// Apply puts next in force in place of the configuration in force: the
// trunks and routes (calls in progress keep their trunk; new calls see the
// new ones), the live limits (admission counts continue) and the API keys
// (swapped at once). next must come from Load or Parse. It is refused,
// and nothing changes, when a key outside LiveKeys differs. Every outcome
// is an audit record, a log line and a count.
func (a *App) Apply(next *Config, actor, source string) (sum string, changed []string, err error) {
	a.reload.mu.Lock()
	defer a.reload.mu.Unlock()
	return a.apply(next, actor, source)
}

func (a *App) apply(next *Config, actor, source string) (string, []string, error) {
	changed := changedKeys(a.reload.live, next)
	var restart []error
	for _, k := range changed {
		if !slices.Contains(LiveKeys, k) {
			restart = append(restart, next.At(k, errNeedsRestart))
		}
	}
	if err := errors.Join(restart...); err != nil {
		return "", nil, a.refused(next, actor, source, err)
	}
	if err := a.SIP.Reload(next.Config); err != nil {
		return "", nil, a.refused(next, actor, source, err)
	}
	a.API.SetKeys(next.API.Keys)
	next.file = a.reload.live.file
	a.reload.live = next
	sum := hex.EncodeToString(next.sum[:])
	a.reload.results.WithLabelValues("applied").Inc()
	a.reload.success.SetToCurrentTime()
	a.log.Info("configuration reloaded", zap.String("by", actor), zap.String("sha256", sum), zap.Strings("changed", changed))
	a.appendAudit(audit.Record{Type: audit.ConfigReloaded, Actor: actor, Source: source, Digest: sum, Changed: changed, Outcome: "applied"})
	return sum, changed, nil
}

// refused records a reload that put nothing in force, and returns its error
// on one line. next is the file's configuration when it was read.
func (a *App) refused(next *Config, actor, source string, err error) error {
	err = errors.New(oneLine(err.Error()))
	rec := audit.Record{Type: audit.ConfigReloadRefused, Actor: actor, Source: source, Outcome: "refused", Reason: withoutValues(err.Error())}
	if next != nil {
		rec.Digest = hex.EncodeToString(next.sum[:])
	}
	a.reload.results.WithLabelValues("refused").Inc()
	a.log.Error("configuration reload refused; the configuration in force stays", zap.String("by", actor), zap.Error(err))
	a.appendAudit(rec)
	return err
}

func (a *App) appendAudit(rec audit.Record) {
	rec.Time = time.Now()
	if _, err := a.audit.Append(rec); err != nil {
		a.log.Error("audit log append failed", zap.String("type", string(rec.Type)), zap.Error(err))
	}
}

// oneLine joins the lines of a multi-line error (YAML's list of type
// errors, errors.Join) with "; ", or a space after a line ending in ":".
func oneLine(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if b.Len() > 0 && !strings.HasSuffix(b.String(), ":") {
			b.WriteString(";")
		}
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(l)
	}
	return b.String()
}

// backquoted is how YAML's decoder quotes the value it could not decode.
var backquoted = regexp.MustCompile("`[^`]*`")

// withoutValues is an error for the audit log: where and why, without the
// value the decoder quotes, which may be a secret put in the wrong key.
func withoutValues(s string) string { return backquoted.ReplaceAllString(s, "`…`") }

// changedKeys lists the YAML keys whose values differ between two
// configurations: a section's scalar and list keys each by name
// ("sip.listeners", "media.port_min", "sip.tls.cert_file"), the trunks and
// routes lists as a whole.
func changedKeys(old, next *Config) []string {
	var out []string
	diff("", reflect.ValueOf(*old), reflect.ValueOf(*next), &out)
	return out
}

func diff(path string, a, b reflect.Value, out *[]string) {
	if !isSection(a.Type()) {
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, path)
		}
		return
	}
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default
		}
		p := path
		if opts != "inline" {
			p = strings.TrimPrefix(path+"."+name, ".")
		}
		diff(p, a.Field(i), b.Field(i), out)
	}
}

// isSection reports whether t is a struct of YAML keys, to compare key by
// key; any other value (a list, a duration, a struct of no keys such as a
// parsed address) is compared whole.
func isSection(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if _, ok := t.Field(i).Tag.Lookup("yaml"); ok {
			return true
		}
	}
	return false
}
