package obs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// LogWriter receives the progress lines cac prints on stderr. With format "text" (the default)
// they pass through unchanged; with "json" each line becomes one JSON object (log/slog), level
// WARN for "cac: WARNING: ..." lines and INFO otherwise, the "cac: " prefix removed, with the
// attributes given to SetFormat (such as the command).
type LogWriter struct {
	mu  sync.Mutex
	out io.Writer
	log *slog.Logger // nil: text
	buf []byte
}

// NewLogWriter writes to out, as text until SetFormat says otherwise.
func NewLogWriter(out io.Writer) *LogWriter { return &LogWriter{out: out} }

// Formats are the accepted --log-format values.
var Formats = []string{"text", "json"}

// SetFormat switches to format (text or json); attrs are added to every json record.
func (w *LogWriter) SetFormat(format string, attrs ...any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch format {
	case "", "text":
		w.log = nil
	case "json":
		w.log = slog.New(slog.NewJSONHandler(w.out, nil)).With(attrs...)
	default:
		return fmt.Errorf("unknown log format %q: use %s", format, strings.Join(Formats, " or "))
	}
	return nil
}

func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.log == nil {
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.record(slog.LevelInfo, string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// Error logs the message a failed run ends with: "cac: msg" as text, level ERROR as json.
func (w *LogWriter) Error(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.log == nil {
		fmt.Fprintf(w.out, "cac: %s\n", msg)
		return
	}
	w.record(slog.LevelError, msg)
}

// Flush logs a last line that has no newline.
func (w *LogWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 && w.log != nil {
		w.record(slog.LevelInfo, string(w.buf))
	}
	w.buf = nil
}

func (w *LogWriter) record(level slog.Level, line string) {
	line = strings.TrimRight(line, "\r")
	if rest, ok := strings.CutPrefix(line, "cac: WARNING: "); ok {
		level, line = slog.LevelWarn, rest
	} else {
		line = strings.TrimPrefix(line, "cac: ")
	}
	if strings.TrimSpace(line) == "" {
		return
	}
	w.log.Log(context.Background(), level, line)
}

// Terminal reports whether the lines go to a terminal as text (not json): where a progress line
// may be redrawn in place.
func (w *LogWriter) Terminal() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, ok := w.out.(*os.File)
	if !ok || w.log != nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
