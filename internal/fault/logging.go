package fault

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"

	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
)

func init() {
	// Toxiproxy's bandwidth toxic logs through zerolog's global logger,
	// which writes to stderr; nothing of Toxiproxy's may print by itself.
	zlog.Logger = zerolog.Nop()
}

// discard is the logger used when none is given.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// zerologFor returns a zerolog.Logger that routes Toxiproxy's own messages
// into logger: its trace to warn levels at Debug (a per-connection "Accepted
// client" is Info for Toxiproxy; connection errors under faults are Warn, and
// both are expected noise here), error and above at Warn. When logger does
// not want Debug, only Toxiproxy's errors are formatted at all.
func zerologFor(logger *slog.Logger) zerolog.Logger {
	if logger == nil || logger.Handler() == discard.Handler() {
		return zerolog.Nop()
	}
	level := zerolog.ErrorLevel
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		level = zerolog.DebugLevel
	}
	return zerolog.New(slogWriter{logger}).Level(level)
}

// slogWriter is a zerolog.LevelWriter that turns zerolog's JSON events into
// slog records.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) { return w.WriteLevel(zerolog.NoLevel, p) }

func (w slogWriter) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	lvl := slog.LevelDebug
	if level >= zerolog.ErrorLevel && level != zerolog.NoLevel {
		lvl = slog.LevelWarn
	}
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		w.l.Log(context.Background(), lvl, string(bytes.TrimSpace(p)))
		return len(p), nil
	}
	msg, _ := fields[zerolog.MessageFieldName].(string)
	if msg == "" {
		msg = "toxiproxy"
	}
	delete(fields, zerolog.MessageFieldName)
	delete(fields, zerolog.LevelFieldName)
	delete(fields, zerolog.TimestampFieldName)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, fields[k]))
	}
	w.l.LogAttrs(context.Background(), lvl, msg, attrs...)
	return len(p), nil
}
