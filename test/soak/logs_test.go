package soak

import (
	"fmt"
	"sync"

	"go.uber.org/zap/zapcore"
)

// logTally is a zap core for the soak's tonewall: it counts entries by
// level, logger and message, and keeps the first warnings and errors with
// their fields. A kept log would grow with every call, and with it the
// heap the soak measures.
type logTally struct {
	*logCounts
	fields []zapcore.Field
}

type logCounts struct {
	mu     sync.Mutex
	counts *tally
	kept   []string
}

const keptWarnings = 20

func newLogTally() *logTally { return &logTally{logCounts: &logCounts{counts: newTally()}} }

func (l *logTally) Enabled(lv zapcore.Level) bool { return lv >= zapcore.InfoLevel }

func (l *logTally) With(fs []zapcore.Field) zapcore.Core {
	return &logTally{logCounts: l.logCounts, fields: append(append([]zapcore.Field(nil), l.fields...), fs...)}
}

func (l *logTally) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if l.Enabled(e.Level) {
		return ce.AddCore(e, l)
	}
	return ce
}

func (l *logTally) Write(e zapcore.Entry, fs []zapcore.Field) error {
	l.counts.add(fmt.Sprintf("%s %s: %s", e.Level, e.LoggerName, e.Message))
	if e.Level < zapcore.WarnLevel {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.kept) < keptWarnings {
		enc := zapcore.NewMapObjectEncoder()
		for _, f := range append(l.fields, fs...) {
			f.AddTo(enc)
		}
		l.kept = append(l.kept, fmt.Sprintf("%s %s: %s %v", e.Level, e.LoggerName, e.Message, enc.Fields))
	}
	return nil
}

func (l *logTally) Sync() error { return nil }
