package sbctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Encoded is v as tonewall's code could write it out: fmt's default line,
// JSON, slog's JSON handler and zap's JSON encoder (Any and Reflect
// fields). Timestamps are left out: their digits could match a short code
// by chance. Leak tests search it for card digits.
func Encoded(t TB, v any) string {
	t.Helper()
	var out bytes.Buffer
	fmt.Fprintln(&out, v)
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json %T: %v", v, err)
	}
	out.Write(j)
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{ReplaceAttr: noTime})).Info("m", "v", v)
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = ""
	zl := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(&out), zapcore.DebugLevel))
	zl.Info("m", zap.Any("any", v), zap.Reflect("reflect", v))
	return out.String()
}
