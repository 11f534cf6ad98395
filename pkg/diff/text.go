package diff

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
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
				paint(ansiBold, binaryLine(a, b))
				continue
			}
			for _, l := range splitLines(fileHeader(a, b)) {
				paint(ansiBold, l)
			}
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

// WriteSummary writes the summary table that opens the text output: one row per changed region
// (files changed, lines added and removed, whether the region is new or gone), then the totals.
func WriteSummary(w io.Writer, r *Result) error {
	if !r.Changed() {
		_, err := io.WriteString(w, "No change to the rendered config\n")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "region\tfiles\tadded\tremoved")
	for _, reg := range r.Regions {
		fmt.Fprintf(tw, "%s\t%d\t+%d\t-%d", reg.Name, len(reg.Files), reg.Added, reg.Removed)
		if reg.Status == Added || reg.Status == Removed {
			fmt.Fprintf(tw, "\tregion %s", reg.Status)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "total\t%d\t+%d\t-%d\n\n", r.Totals.Files, r.Totals.Added, r.Totals.Removed)
	return tw.Flush()
}
