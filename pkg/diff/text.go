package diff

import (
	"bufio"
	"io"
	"strings"
)

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiCyan  = "\x1b[36m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
)

// WriteText writes r as a unified diff, file headers a/<region>/<path> and b/<region>/<path>
// (/dev/null for an added or removed file), with ANSI colours when color is set.
func WriteText(w io.Writer, r *Result, color bool) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) {
		if color {
			bw.WriteString(code)
			bw.WriteString(strings.TrimSuffix(s, "\n"))
			bw.WriteString(ansiReset + "\n")
			return
		}
		bw.WriteString(s)
	}
	for _, reg := range r.Regions {
		for _, f := range reg.Files {
			a, b := "a/"+f.Region+"/"+f.Path, "b/"+f.Region+"/"+f.Path
			switch f.Status {
			case Added:
				a = "/dev/null"
			case Removed:
				b = "/dev/null"
			}
			if f.Binary {
				paint(ansiBold, "Binary files "+a+" and "+b+" differ\n")
				continue
			}
			paint(ansiBold, "--- "+a+"\n")
			paint(ansiBold, "+++ "+b+"\n")
			for _, l := range splitLines(f.Unified) {
				switch l[0] {
				case '@':
					paint(ansiCyan, l)
				case '-':
					paint(ansiRed, l)
				case '+':
					paint(ansiGreen, l)
				default:
					bw.WriteString(l)
				}
			}
		}
	}
	return bw.Flush()
}
