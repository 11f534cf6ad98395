package diff

import (
	"fmt"
	"html"
	"strings"
	"unicode/utf8"
)

// Comment size limits of the forges, in characters. Markdown measures bytes, which never
// undercounts characters.
const (
	GitHubLimit = 65536
	GitLabLimit = 1000000
	MinLimit    = 2048 // smaller limits are raised to this
)

// MarkdownOptions shape the merge-request comment.
type MarkdownOptions struct {
	Title    string // heading; default "cac diff: <USN>"
	USN      string
	Marker   string // identifies our comments; default "cac-diff:<USN>"; see MarkerLine
	Limit    int    // maximum size of one part in bytes; default GitHubLimit, at least MinLimit
	MaxParts int    // maximum number of parts; default 10
}

func (o *MarkdownOptions) defaults() {
	if o.Marker == "" {
		o.Marker = "cac-diff:" + o.USN
	}
	if o.Title == "" {
		o.Title = "cac diff"
		if o.USN != "" {
			o.Title += ": " + o.USN
		}
	}
	if o.Limit <= 0 {
		o.Limit = GitHubLimit
	}
	o.Limit = max(o.Limit, MinLimit)
	if o.MaxParts <= 0 {
		o.MaxParts = 10
	}
}

// MarkerLine is the hidden first line of part n of the comment identified by marker.
// forge.Upsert finds comments by it.
func MarkerLine(marker string, n int) string {
	return fmt.Sprintf("<!-- %s part %d -->", marker, n)
}

// maxListed caps the added/removed file lines of the summary, so it always fits in part 1.
const maxListed = 50

// Markdown lays r out as one or more comment parts, each within opt.Limit bytes: a summary table
// first, then one <details> per region and file holding a ```diff fence. A diff too long for one
// part continues in the next, fences and <details> closed at the cut and reopened after it; past
// opt.MaxParts the last part says what was left out and where to see all of it.
func Markdown(r *Result, opt MarkdownOptions) []string {
	opt.defaults()
	if !r.Changed() {
		return []string{MarkerLine(opt.Marker, 1) + "\n### " + opt.Title + "\n\nNo change to the rendered config.\n"}
	}
	p := packer{opt: opt}
	// Every part keeps room for its header and a "continued" footer; the last possible part
	// also keeps room for the note on what was left out.
	p.reserve = len(p.header(opt.MaxParts, opt.MaxParts)) + len(continued(opt.MaxParts))
	p.cur.WriteString(summary(r))
	var blocks []block
	for _, reg := range r.Regions {
		for i := range reg.Files {
			blocks = append(blocks, fileBlock(&reg.Files[i]))
		}
	}
	for i, b := range blocks {
		if !p.add(b) {
			for _, rest := range blocks[i+1:] {
				p.omitted.files++
				p.omitted.lines += rest.changed
			}
			break
		}
	}
	return p.finish(r)
}

// noteReserve is kept free in the last possible part for the left-out note.
const noteReserve = 512

type block struct {
	open, reopen, close string
	lines               []string
	changed             int // +/- lines
}

type packer struct {
	opt      MarkdownOptions
	reserve  int
	parts    []string // bodies of finished parts
	cur      strings.Builder
	omitted  struct{ files, lines int }
	cutShort bool // a file was cut short by the part cap
}

func (p *packer) capacity() int {
	c := p.opt.Limit - p.reserve
	if len(p.parts)+1 == p.opt.MaxParts {
		c -= noteReserve
	}
	return c
}

func (p *packer) room() int { return p.capacity() - p.cur.Len() }

// next starts a new part; false when the part cap is reached.
func (p *packer) next() bool {
	if len(p.parts)+1 >= p.opt.MaxParts {
		return false
	}
	p.parts = append(p.parts, p.cur.String())
	p.cur.Reset()
	return true
}

// add writes b, splitting it across parts by lines when needed. False when the part cap cut it.
func (p *packer) add(b block) bool {
	size := len(b.open) + len(b.close)
	for _, l := range b.lines {
		size += len(l)
	}
	if size > p.room() && size <= p.capacity() && p.cur.Len() > 0 {
		// It fits in a fresh part: do not cut it.
		if !p.next() {
			p.omit(b, 0)
			return false
		}
	}
	if len(b.open)+len(b.close)+firstLen(b.lines) > p.room() && p.cur.Len() > 0 {
		if !p.next() {
			p.omit(b, 0)
			return false
		}
	}
	p.cur.WriteString(b.open)
	maxLine := p.opt.Limit/4 + 1
	for i := 0; i < len(b.lines); i++ {
		l := b.lines[i]
		for len(l) > maxLine { // a line longer than a part: wrap it, never drop it
			cut := maxLine
			for cut > 0 && !utf8.RuneStart(l[cut]) {
				cut--
			}
			if !p.write(b, l[:cut]+"\n", i) {
				return false
			}
			l = l[cut:]
		}
		if !p.write(b, l, i) {
			return false
		}
	}
	p.cur.WriteString(b.close)
	return true
}

// write adds one line of b, moving to the next part (closing and reopening b) when it does not fit.
func (p *packer) write(b block, l string, i int) bool {
	if len(l)+len(b.close) > p.room() {
		p.cur.WriteString(b.close)
		if !p.next() {
			p.omit(b, i)
			return false
		}
		p.cur.WriteString(b.reopen)
	}
	p.cur.WriteString(l)
	return true
}

// omit records that b from line i on was left out (all of it when i == 0).
func (p *packer) omit(b block, i int) {
	if i == 0 {
		p.omitted.lines += b.changed
		p.omitted.files++
	} else {
		p.omitted.lines += countChanged(b.lines[i:])
		p.cutShort = true
	}
}

func (p *packer) finish(r *Result) []string {
	if p.omitted.files > 0 || p.omitted.lines > 0 {
		p.cur.WriteString(p.leftOut(r))
	}
	p.parts = append(p.parts, p.cur.String())
	n := len(p.parts)
	out := make([]string, n)
	for i, body := range p.parts {
		s := p.header(i+1, n) + body
		if i+1 < n {
			s += continued(i + 2)
		}
		out[i] = s
	}
	return out
}

func (p *packer) leftOut(r *Result) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n> [!WARNING]\n> **The diff is too long for %d comments.** Left out: %s",
		p.opt.MaxParts, plural(p.omitted.files, "file"))
	if p.cutShort {
		sb.WriteString(" and the end of one more")
	}
	fmt.Fprintf(&sb, ", %d of %s.\n", p.omitted.lines, plural(r.Totals.Added+r.Totals.Removed, "changed line"))
	sb.WriteString("> The summary in part 1 counts everything. See the full diff in the CI job log, or run `cac diff` locally.\n")
	return sb.String()
}

func (p *packer) header(n, total int) string {
	h := MarkerLine(p.opt.Marker, n) + "\n### " + p.opt.Title
	if total > 1 {
		h += fmt.Sprintf(" · Part %d of %d", n, total)
	}
	return h + "\n\n"
}

func continued(n int) string { return fmt.Sprintf("\n_Continued in part %d._\n", n) }

func firstLen(lines []string) int {
	if len(lines) == 0 {
		return 0
	}
	return len(lines[0])
}

func countChanged(lines []string) int {
	n := 0
	for _, l := range lines {
		if l != "" && (l[0] == '+' || l[0] == '-') {
			n++
		}
	}
	return n
}

func summary(r *Result) string {
	var sb strings.Builder
	t := r.Totals
	fmt.Fprintf(&sb, "**%s changed in %s** (+%d −%d)\n\n", plural(t.Files, "file"), plural(t.Regions, "region"), t.Added, t.Removed)
	sb.WriteString("| region | files changed | + | − |\n| --- | ---: | ---: | ---: |\n")
	var listed []string
	for _, reg := range r.Regions {
		name := "`" + reg.Name + "`"
		if reg.Status != Modified {
			name += " (" + string(reg.Status) + ")"
			listed = append(listed, fmt.Sprintf("- region `%s` %s (%s)", reg.Name, reg.Status, plural(len(reg.Files), "file")))
		}
		fmt.Fprintf(&sb, "| %s | %d | %d | %d |\n", name, len(reg.Files), reg.Added, reg.Removed)
		if reg.Status != Modified {
			continue
		}
		for _, f := range reg.Files {
			if f.Status != Modified {
				listed = append(listed, fmt.Sprintf("- `%s/%s` %s", f.Region, f.Path, f.Status))
			}
		}
	}
	fmt.Fprintf(&sb, "| **total** | **%d** | **%d** | **%d** |\n", t.Files, t.Added, t.Removed)
	if len(listed) > 0 {
		sb.WriteString("\n")
		for i, l := range listed {
			if i == maxListed {
				fmt.Fprintf(&sb, "- … and %d more added or removed (each shown below)\n", len(listed)-maxListed)
				break
			}
			sb.WriteString(l + "\n")
		}
	}
	sb.WriteString("\n")
	return sb.String()
}

func fileBlock(f *File) block {
	label := html.EscapeString(f.Region + " — " + f.Path)
	var counts string
	switch f.Status {
	case Added:
		counts = fmt.Sprintf("new file, +%d", f.Added)
	case Removed:
		counts = fmt.Sprintf("removed, −%d", f.Removed)
	default:
		counts = fmt.Sprintf("+%d −%d", f.Added, f.Removed)
	}
	body := f.Unified
	if f.Binary {
		body = "Binary files differ\n"
		counts = string(f.Status) + ", binary"
	}
	fence := strings.Repeat("`", max(3, longestRun(body, '`')+1))
	return block{
		open:    "<details><summary>" + label + " (" + counts + ")</summary>\n\n" + fence + "diff\n",
		reopen:  "<details><summary>" + label + " (" + counts + ", continued)</summary>\n\n" + fence + "diff\n",
		close:   fence + "\n</details>\n\n",
		lines:   splitLines(body),
		changed: f.Added + f.Removed,
	}
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}
