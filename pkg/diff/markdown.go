package diff

import (
	"fmt"
	"html"
	"math"
	"strings"
	"unicode/utf8"
)

// Sizes are in characters, the unit GitHub and GitLab count a comment body in (Unicode code
// points). Chars counts a character outside the Basic Multilingual Plane (most emoji) twice, as a
// UTF-16 counter would, so a part fits either reading; a part of n characters is at most 4n bytes.

// MinLimit is the smallest part size Markdown lays out; smaller limits are raised to it.
const MinLimit = 2048

// MarkdownOptions shape the merge-request comment. Markdown knows no forge: the caller passes
// the forge's marker line and comment limit.
type MarkdownOptions struct {
	Title string // heading; default "cac diff: <USN>"
	USN   string
	// MarkerLine returns the hidden line part n starts with (forge.MarkerLine); nil: none.
	MarkerLine func(n int) string
	// Intro is shown at the top of part 1, under the marker line: which commits and branches
	// were compared, a note. It counts in part 1's size; one longer than Limit/4 is cut.
	Intro string
	// Limit is the largest part in characters (see Chars), every header and footer included:
	// the forge's MaxCommentChars. 0 means no limit; a smaller one is raised to MinLimit.
	Limit    int
	MaxParts int // maximum number of parts; default 10
}

func (o *MarkdownOptions) defaults() {
	if o.Title == "" {
		o.Title = "cac diff"
		if o.USN != "" {
			o.Title += ": " + o.USN
		}
	}
	if o.Limit <= 0 {
		o.Limit = math.MaxInt32
	}
	o.Limit = max(o.Limit, MinLimit)
	if o.MaxParts <= 0 {
		o.MaxParts = 10
	}
	if o.Intro != "" && !strings.HasSuffix(o.Intro, "\n") {
		o.Intro += "\n"
	}
	o.Intro = cutLines(o.Intro, o.Limit/4)
}

// Chars is the size of s as Markdown measures a part: one per character (code point), two for a
// character outside the Basic Multilingual Plane; an invalid byte counts one, as the U+FFFD it is
// sent as.
func Chars(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// prefixChars returns the length in bytes of the longest prefix of s of at most n characters
// (see Chars) that does not split a character.
func prefixChars(s string, n int) int {
	c := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		if c+w > n {
			return i
		}
		c += w
	}
	return len(s)
}

// suffixChars returns the length in bytes of the longest suffix of s of at most n
// characters that does not split a character.
func suffixChars(s string, n int) int {
	c, i := 0, len(s)
	for i > 0 {
		r, w := utf8.DecodeLastRuneInString(s[:i])
		cw := 1
		if r > 0xFFFF {
			cw = 2
		}
		if c+cw > n {
			break
		}
		c += cw
		i -= w
	}
	return len(s) - i
}

// cutLines shortens s (lines ending in "\n") to at most n characters: whole lines while they fit,
// then "…" on a line of its own; a first line longer than n is cut and ends in "…".
func cutLines(s string, n int) string {
	if Chars(s) <= n {
		return s
	}
	const more = "…\n"
	kept, size := 0, 0
	for _, l := range splitLines(s) {
		if size+Chars(l)+Chars(more) > n {
			break
		}
		kept += len(l)
		size += Chars(l)
	}
	if kept == 0 {
		return s[:prefixChars(s, n-Chars(more))] + more
	}
	return s[:kept] + more
}

// maxListed caps the added/removed file lines of the summary.
const maxListed = 50

// Markdown lays r out as one or more comment parts, each within opt.Limit characters with its
// headers and footers: a summary table first, then one <details> per region and file holding a
// ```diff fence. A diff too long for one part continues in the next, fences and <details> closed
// at the cut and reopened after it; past opt.MaxParts the last part says what was left out and
// where to see all of it.
func Markdown(r *Result, opt MarkdownOptions) []string {
	opt.defaults()
	p := packer{opt: opt}
	if !r.Changed() {
		return []string{p.header(1, 1) + "No change to the rendered config.\n"}
	}
	p.capacity = p.capacityOf(1)
	p.put(summary(r, p.capacity))
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

// noteReserve is kept free in the last possible part for the left-out note (leftOut), which is
// under 400 characters.
const noteReserve = 512

type block struct {
	open, reopen, close string
	lines               []string
	changed             int // +/- lines
}

type packer struct {
	opt      MarkdownOptions
	parts    []string // bodies of finished parts
	cur      strings.Builder
	size     int // Chars(cur)
	capacity int // of the current part's body
	omitted  struct{ files, lines int }
	cutShort bool // a file was cut short by the part cap
}

// capacityOf is the room for the body of part n: the limit less its header (sized as if there
// were MaxParts parts, which has the longest "Part n of N"), and less the "continued" footer or,
// in the last possible part, the left-out note.
func (p *packer) capacityOf(n int) int {
	c := p.opt.Limit - Chars(p.header(n, p.opt.MaxParts))
	if n < p.opt.MaxParts {
		return c - Chars(continued(n+1))
	}
	return c - noteReserve
}

func (p *packer) room() int { return p.capacity - p.size }

func (p *packer) put(s string) {
	p.cur.WriteString(s)
	p.size += Chars(s)
}

// next starts a new part; false when the part cap is reached.
func (p *packer) next() bool {
	if len(p.parts)+1 >= p.opt.MaxParts {
		return false
	}
	p.parts = append(p.parts, p.cur.String())
	p.cur.Reset()
	p.size = 0
	p.capacity = p.capacityOf(len(p.parts) + 1)
	return true
}

// add writes b, splitting it across parts by lines when needed. False when the part cap cut it.
func (p *packer) add(b block) bool {
	size := Chars(b.open) + Chars(b.close)
	for _, l := range b.lines {
		size += Chars(l)
	}
	if size > p.room() && size <= p.capacity && p.size > 0 {
		// It fits in a fresh part: do not cut it.
		if !p.next() {
			p.omit(b, 0)
			return false
		}
	}
	if Chars(b.open)+Chars(b.close)+min(firstLen(b.lines), p.maxLine()) > p.room() && p.size > 0 {
		if !p.next() {
			p.omit(b, 0)
			return false
		}
	}
	p.put(b.open)
	maxLine := p.maxLine()
	for i := 0; i < len(b.lines); i++ {
		l := b.lines[i]
		for n := Chars(l); n > maxLine; { // a line too long for a part: wrap it, never drop it
			cut := prefixChars(l, maxLine-1)
			if !p.write(b, l[:cut]+"\n", i) {
				return false
			}
			n -= Chars(l[:cut])
			l = l[cut:]
		}
		if !p.write(b, l, i) {
			return false
		}
	}
	p.put(b.close)
	return true
}

// maxLine is the longest line written whole, "\n" included; longer ones are wrapped. It leaves a
// fresh part room for the reopened <details> and fence around it.
func (p *packer) maxLine() int { return p.opt.Limit / 8 }

// write adds one line of b, moving to the next part (closing and reopening b) when it does not fit.
func (p *packer) write(b block, l string, i int) bool {
	if Chars(l)+Chars(b.close) > p.room() {
		p.put(b.close)
		if !p.next() {
			p.omit(b, i)
			return false
		}
		p.put(b.reopen)
	}
	p.put(l)
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
		p.put(p.leftOut(r))
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

// header opens part n of total: the marker line, the intro (part 1 only), the title.
func (p *packer) header(n, total int) string {
	var h string
	if p.opt.MarkerLine != nil {
		h = p.opt.MarkerLine(n) + "\n"
	}
	if n == 1 && p.opt.Intro != "" {
		h += p.opt.Intro + "\n"
	}
	h += "### " + p.opt.Title
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
	return Chars(lines[0])
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

// summary is the table that opens part 1, within budget characters: when every region and every
// added or removed file do not fit, it shows fewer rows and says how many more there are; the
// totals row is always there.
func summary(r *Result, budget int) string {
	rows, listed := len(r.Regions), maxListed
	for {
		s := summaryRows(r, rows, listed)
		if Chars(s) <= budget || rows+listed == 0 {
			return s
		}
		rows, listed = rows/2, listed/2
	}
}

// summaryRows writes the first maxRows regions' rows and the first maxListed added or removed
// files and regions.
func summaryRows(r *Result, maxRows, maxListed int) string {
	var sb strings.Builder
	t := r.Totals
	fmt.Fprintf(&sb, "**%s changed in %s** (+%d −%d)\n\n", plural(t.Files, "file"), plural(t.Regions, "region"), t.Added, t.Removed)
	sb.WriteString("| region | files changed | + | − |\n| --- | ---: | ---: | ---: |\n")
	var listed []string
	var more Totals
	for i, reg := range r.Regions {
		name := "`" + reg.Name + "`"
		if reg.Status != Modified {
			name += " (" + string(reg.Status) + ")"
			listed = append(listed, fmt.Sprintf("- region `%s` %s (%s)", reg.Name, reg.Status, plural(len(reg.Files), "file")))
		}
		if i < maxRows {
			fmt.Fprintf(&sb, "| %s | %d | %d | %d |\n", name, len(reg.Files), reg.Added, reg.Removed)
		} else {
			more.Regions++
			more.Files += len(reg.Files)
			more.Added += reg.Added
			more.Removed += reg.Removed
		}
		if reg.Status != Modified {
			continue
		}
		for _, f := range reg.Files {
			if f.Status != Modified {
				listed = append(listed, fmt.Sprintf("- `%s/%s` %s", f.Region, f.Path, f.Status))
			}
		}
	}
	if more.Regions > 0 {
		fmt.Fprintf(&sb, "| … %s not listed | %d | %d | %d |\n", plural(more.Regions, "region"), more.Files, more.Added, more.Removed)
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

// maxLabel caps the characters of a file's region and path in its <details> summary.
const maxLabel = 120

func fileBlock(f *File) block {
	label := f.Region + " — " + f.Path
	if Chars(label) > maxLabel { // keep the end: the file name
		label = "…" + label[len(label)-suffixChars(label, maxLabel-1):]
	}
	label = html.EscapeString(label)
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
	fence := Fence(body)
	return block{
		open:    "<details><summary>" + label + " (" + counts + ")</summary>\n\n" + fence + "diff\n",
		reopen:  "<details><summary>" + label + " (" + counts + ", continued)</summary>\n\n" + fence + "diff\n",
		close:   fence + "\n</details>\n\n",
		lines:   splitLines(body),
		changed: f.Added + f.Removed,
	}
}

// Fence is the shortest code fence (three backticks or more) that no line of s can close.
func Fence(s string) string { return strings.Repeat("`", max(3, longestRun(s, '`')+1)) }

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
