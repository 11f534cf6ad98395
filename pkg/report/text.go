package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
)

// noFile heads the group of findings that have no file (a missing region, a bad flag value).
const noFile = "(no file)"

// writeText prints findings grouped by file, one line each, then a one-line summary:
//
//	conf/CacRegion_app.toml
//	  conf/CacRegion_app.toml:3:9: error: [sg-prod] mysql.port: ... (placeholder/unresolved)
//
//	1 error, 0 warnings in 1 file
func writeText(w io.Writer, fs []Finding, opt Options) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !opt.Color {
			return s
		}
		return code + s + ansiReset
	}
	files := 0
	for i, f := range fs {
		if i == 0 || f.File != fs[i-1].File {
			if i > 0 {
				bw.WriteString("\n")
			}
			head := f.File
			if head == "" {
				head = noFile
			} else {
				files++
			}
			fmt.Fprintln(bw, paint(ansiBold, head))
		}
		sev := paint(ansiRed, "error")
		if f.isWarning() {
			sev = paint(ansiYellow, "warning")
		}
		pos := f.Pos.String()
		if pos != "" {
			pos += ": "
		}
		rule := ""
		if f.Rule != "" {
			rule = " (" + f.Rule + ")"
		}
		// A multi-line message keeps its later lines indented under its finding.
		msg := strings.ReplaceAll(strings.ReplaceAll(f.label(), "\r\n", "\n"), "\n", "\n    ")
		fmt.Fprintf(bw, "  %s%s: %s%s\n", pos, sev, msg, rule)
	}
	if len(fs) > 0 {
		bw.WriteString("\n")
	}
	s := Summarize(fs)
	line := "no findings"
	code := ansiGreen
	if len(fs) > 0 {
		line = plural(s.Errors, "error") + ", " + plural(s.Warnings, "warning")
		if files > 0 {
			line += " in " + plural(files, "file")
		}
		code = ansiYellow
		if s.Errors > 0 {
			code = ansiRed
		}
	}
	fmt.Fprintln(bw, paint(ansiBold+code, line))
	return bw.Flush()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
