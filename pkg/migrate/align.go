package migrate

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/cacproj/cac/pkg/placeholder"
	"github.com/cacproj/cac/pkg/report"
)

// piece is a run of template text: a literal, or a hole whose value differs per region.
type piece struct {
	literal []byte
	hole    *hole
}

// hole is one value that becomes a placeholder.
type hole struct {
	rule   pathRule
	values []string // per variant
	secret bool
	line   int   // 1-based line in the first variant, names the path
	at     []int // 1-based line in each variant, for messages
	path   string
	note   *report.Finding // a warning about this hole; its Path is set once the path is known
}

// builder turns aligned variants into template pieces.
type builder struct {
	vs     []*variant
	prefix []string // app.<prefix>... for text keys
	namer
	pieces []piece
	at     []int // lines (0-based, per variant) of the line being built
}

func (b *builder) lit(p []byte) {
	if len(p) == 0 {
		return
	}
	if n := len(b.pieces); n > 0 && b.pieces[n-1].hole == nil {
		b.pieces[n-1].literal = append(b.pieces[n-1].literal, p...)
		return
	}
	b.pieces = append(b.pieces, piece{literal: append([]byte(nil), p...)})
}

func (b *builder) addHole(h *hole) {
	if h.at == nil {
		for _, i := range b.at {
			h.at = append(h.at, i+1)
		}
	}
	b.pieces = append(b.pieces, piece{hole: h})
}

// run aligns the variants' lines on the lines they share (a diff of each variant against the first)
// and builds the template between those anchors.
func (b *builder) run() {
	from := make([]int, len(b.vs))
	to := make([]int, len(b.vs))
	for k, v := range b.vs {
		to[k] = len(v.lines)
	}
	b.align(from, to, func(v *variant, i int) string { return string(v.lines[i]) }, b.segment)
}

// align diffs lines from[k]..to[k] of every variant against the first, by key. Lines whose keys match
// in every variant are anchors, handled by b.line; the gaps between anchors go to gap.
func (b *builder) align(from, to []int, key func(v *variant, i int) string, gap func(from, to []int)) {
	first := b.vs[0]
	keys := func(v *variant, k int) []string {
		ks := make([]string, 0, to[k]-from[k])
		for i := from[k]; i < to[k]; i++ {
			ks = append(ks, key(v, i))
		}
		return ks
	}
	k0 := keys(first, 0)
	// anchors[k][i] is the line in variant k matching line from[0]+i of the first, or -1.
	anchors := make([][]int, len(b.vs))
	for k, v := range b.vs {
		anchors[k] = matchLines(k0, keys(v, k))
		for i, a := range anchors[k] {
			if a >= 0 {
				anchors[k][i] = a + from[k]
			}
		}
	}
	cur := append([]int(nil), from...) // next unprocessed line per variant
	n := to[0] - from[0]
	for i := 0; i <= n; i++ {
		if i < n {
			anchored := true
			for k := range b.vs {
				anchored = anchored && anchors[k][i] >= 0
			}
			if !anchored {
				continue
			}
		}
		end := make([]int, len(b.vs))
		for k := range b.vs {
			end[k] = to[k]
			if i < n {
				end[k] = anchors[k][i]
			}
		}
		gap(cur, end)
		if i < n {
			idx := make([]int, len(b.vs))
			for k := range b.vs {
				idx[k] = anchors[k][i]
				cur[k] = idx[k] + 1
			}
			b.line(idx)
		}
	}
}

// matchLines maps each key of a to its equal key in b along a diff, or -1.
func matchLines(a, b []string) []int {
	ids := map[string]rune{}
	toRunes := func(keys []string) []rune {
		rs := make([]rune, len(keys))
		for i, l := range keys {
			r, ok := ids[l]
			if !ok {
				r = rune(len(ids) + 1)
				if r >= 0xD800 {
					r += 0x800 // skip surrogates, which are not runes
				}
				ids[l] = r
			}
			rs[i] = r
		}
		return rs
	}
	ra, rb := toRunes(a), toRunes(b)
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	out := make([]int, len(a))
	ia, ib := 0, 0
	for _, d := range dmp.DiffMainRunes(ra, rb, false) {
		n := utf8.RuneCountInString(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			for j := 0; j < n; j++ {
				out[ia+j] = ib + j
			}
			ia += n
			ib += n
		case diffmatchpatch.DiffDelete:
			for j := 0; j < n; j++ {
				out[ia+j] = -1
			}
			ia += n
		case diffmatchpatch.DiffInsert:
			ib += n
		}
	}
	return out
}

// segment handles the lines between two anchors: line by line when every variant has the same
// number of lines there, else aligned again by the lines' keys (so a line present in some regions
// only does not hide the values of its neighbours).
func (b *builder) segment(from, to []int) {
	if b.perLine(from, to) {
		return
	}
	b.align(from, to, lineKey, b.block)
}

// lineKey is the key path a line belongs to, or its text when the format found none.
func lineKey(v *variant, i int) string {
	if c := v.ctx[i]; len(c) > 0 {
		return "k\x00" + strings.Join(c, "\x00")
	}
	return "t\x00" + string(v.lines[i])
}

// perLine handles lines from..to line by line when every variant has as many; else it reports false.
func (b *builder) perLine(from, to []int) bool {
	n := to[0] - from[0]
	same, empty := true, true
	for k := range b.vs {
		if to[k]-from[k] != n {
			same = false
		}
		if to[k] > from[k] {
			empty = false
		}
	}
	if empty {
		return true
	}
	if !same {
		return false
	}
	for j := 0; j < n; j++ {
		idx := make([]int, len(b.vs))
		for k := range b.vs {
			idx[k] = from[k] + j
		}
		b.line(idx)
	}
	return true
}

// block makes lines that only some regions have one placeholder holding the whole lines (empty in
// the regions without them), and warns: the template is lossless but wants a manual look.
func (b *builder) block(from, to []int) {
	if b.perLine(from, to) {
		return
	}
	h := &hole{line: from[0] + 1}
	var have, lack, counts []string
	first := -1
	for k, v := range b.vs {
		h.values = append(h.values, string(bytes.Join(v.lines[from[k]:to[k]], nil)))
		h.at = append(h.at, from[k]+1)
		counts = append(counts, fmt.Sprintf("%s %d", v.region, to[k]-from[k]))
		if to[k] == from[k] {
			lack = append(lack, v.region)
			continue
		}
		have = append(have, v.region)
		if first < 0 {
			first = k
		}
	}
	h.rule = b.derive([]string{"lines" + strconv.Itoa(h.line)}, b.prefix)
	b.addHole(h)
	msg := fmt.Sprintf("the regions have different lines here (lines per region: %s)", joinComma(counts))
	if len(lack) > 0 {
		msg = fmt.Sprintf("these lines exist in %s but not in %s", joinComma(have), joinComma(lack))
	}
	h.note = &report.Finding{
		Pos: report.Pos{File: b.vs[first].file, Line: from[first] + 1}, Rule: "import/structure", Severity: report.SeverityWarning,
		Message: msg + "; they became one placeholder holding the whole lines; merge them by hand for a cleaner template",
	}
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(x)
	}
	return b.String()
}

// line handles one aligned line (idx[k] in variant k).
func (b *builder) line(idx []int) {
	lines := make([][]byte, len(b.vs))
	for k, v := range b.vs {
		lines[k] = v.lines[idx[k]]
	}
	b.at = idx
	no := idx[0] + 1
	if bytes.Contains(content(lines[0]), []byte(placeholder.Marker)) {
		// A literal ^cac would read as a placeholder: the whole line becomes a value.
		b.wholeLine(lines, no, nil)
		return
	}
	if b.spans(idx, lines, no) || b.tokens(lines, no, b.vs[0].ctx[idx[0]]) {
		return
	}
	b.wholeLine(lines, no, b.vs[0].ctx[idx[0]])
}

func allEqual(xs [][]byte) bool {
	for _, x := range xs[1:] {
		if !bytes.Equal(x, xs[0]) {
			return false
		}
	}
	return true
}

// spans replaces the values the format found, when every variant has the same keys and the same
// text around them. Secrets become placeholders even when equal everywhere; other equal values stay
// literal.
func (b *builder) spans(idx []int, lines [][]byte, no int) bool {
	sp0 := b.vs[0].spans[idx[0]]
	for k, v := range b.vs {
		sp := v.spans[idx[k]]
		if len(sp) != len(sp0) {
			return false
		}
		for j := range sp {
			if !sameSegs(sp[j].segs, sp0[j].segs) {
				return false
			}
		}
	}
	if !allEqual(lines) {
		// the text around the values must agree
		for j := 0; j <= len(sp0); j++ {
			parts := make([][]byte, len(b.vs))
			for k, v := range b.vs {
				parts[k] = between(lines[k], v.spans[idx[k]], j)
			}
			if !allEqual(parts) {
				return false
			}
		}
	} else {
		forced := false
		for _, s := range sp0 {
			forced = forced || isSecret(s.segs)
		}
		if !forced {
			b.lit(lines[0])
			return true
		}
	}
	last := 0
	for j, s := range sp0 {
		vals := make([]string, len(b.vs))
		for k, v := range b.vs {
			sk := v.spans[idx[k]][j]
			vals[k] = string(lines[k][sk.start:sk.end])
		}
		b.lit(lines[0][last:s.start])
		last = s.end
		secret := isSecret(s.segs)
		if allSame(vals) && !secret {
			b.lit(lines[0][s.start:s.end])
			continue
		}
		b.addHole(&hole{rule: b.derive(s.segs, b.prefix), values: vals, secret: secret, line: no})
	}
	b.lit(lines[0][last:])
	return true
}

// between is the text of line before span j (after span j-1); j == len(sp) gives the tail.
func between(line []byte, sp []span, j int) []byte {
	s := 0
	if j > 0 {
		s = sp[j-1].end
	}
	e := len(line)
	if j < len(sp) {
		e = sp[j].start
	}
	return line[s:e]
}

func sameSegs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func allSame(xs []string) bool {
	for _, x := range xs[1:] {
		if x != xs[0] {
			return false
		}
	}
	return true
}

// isWord tells bytes that belong to a token: letters, digits, URL and address punctuation, and every
// byte of a multi-byte character (so a token never splits a character).
func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 ||
		bytes.IndexByte([]byte("_.-:/@%+~?&!$*^|\\"), c) >= 0
}

type token struct {
	start, end int
	word       bool
}

func tokenize(line []byte) []token {
	var ts []token
	for i := 0; i < len(line); {
		j := i + 1
		w := isWord(line[i])
		if w {
			for j < len(line) && isWord(line[j]) {
				j++
			}
		}
		ts = append(ts, token{i, j, w})
		i = j
	}
	return ts
}

// tokens replaces differing words when every variant has the same tokens around them.
func (b *builder) tokens(lines [][]byte, no int, ctx []string) bool {
	toks := make([][]token, len(lines))
	for k, l := range lines {
		toks[k] = tokenize(l)
		if len(toks[k]) != len(toks[0]) {
			return false
		}
	}
	differs := make([]bool, len(toks[0]))
	for j, t0 := range toks[0] {
		for k := 1; k < len(lines); k++ {
			t := toks[k][j]
			same := bytes.Equal(lines[k][t.start:t.end], lines[0][t0.start:t0.end])
			if !same && (!t.word || !t0.word) {
				return false
			}
			differs[j] = differs[j] || !same
		}
	}
	last := 0
	for j, t := range toks[0] {
		if !differs[j] {
			continue
		}
		vals := make([]string, len(lines))
		for k := range lines {
			tk := toks[k][j]
			vals[k] = string(lines[k][tk.start:tk.end])
		}
		b.lit(lines[0][last:t.start])
		last = t.end
		rule := b.nameAt(lines[0], t.start, no)
		if b.prefix == nil && len(ctx) > 0 {
			rule = b.derive(ctx, nil) // structured formats: the key the line belongs to
		}
		b.addHole(&hole{rule: rule, values: vals, secret: isSecret(ctx), line: no})
	}
	b.lit(lines[0][last:])
	return true
}

// nameAt names a differing token: the nearest identifier before it on the line, else line<N>.
func (b *builder) nameAt(line []byte, at, no int) pathRule {
	var ident []byte
	for _, t := range tokenize(line[:at]) {
		w := line[t.start:t.end]
		if t.word && identLike(w) {
			ident = w
		}
	}
	if ident == nil {
		return b.derive([]string{"line" + strconv.Itoa(no)}, b.prefix)
	}
	return b.derive(splitIdent(ident), b.prefix)
}

func identLike(w []byte) bool {
	if len(w) == 0 || !(w[0] == '_' || w[0] >= 'a' && w[0] <= 'z' || w[0] >= 'A' && w[0] <= 'Z') {
		return false
	}
	for _, c := range w {
		if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func splitIdent(w []byte) []string {
	var segs []string
	for _, s := range bytes.Split(w, []byte(".")) {
		if len(s) > 0 {
			segs = append(segs, string(s))
		}
	}
	return segs
}

// wholeLine makes the differing middle of a line one placeholder: the common prefix and suffix
// (cut back to token boundaries) stay literal. ctx names it when the format knows the key.
func (b *builder) wholeLine(lines [][]byte, no int, ctx []string) {
	p, s := 0, 0
	if !bytes.Contains(content(lines[0]), []byte(placeholder.Marker)) {
		p, s = commonPrefix(lines), commonSuffix(lines)
	}
	vals := make([]string, len(lines))
	for k, l := range lines {
		vals[k] = string(l[p : len(l)-s])
	}
	b.lit(lines[0][:p])
	rule := b.derive(ctx, b.prefix)
	if len(ctx) == 0 {
		rule = b.nameAt(lines[0], p, no)
	}
	b.addHole(&hole{rule: rule, values: vals, secret: isSecret(ctx), line: no})
	b.lit(lines[0][len(lines[0])-s:])
}

func commonPrefix(lines [][]byte) int {
	n := len(lines[0])
	for _, l := range lines[1:] {
		n = min(n, len(l))
		for i := 0; i < n; i++ {
			if l[i] != lines[0][i] {
				n = i
				break
			}
		}
	}
	// back to a token boundary in every line
	for n > 0 && isWord(lines[0][n-1]) {
		inside := false
		for _, l := range lines {
			if n < len(l) && isWord(l[n]) {
				inside = true
			}
		}
		if !inside {
			break
		}
		n--
	}
	return n
}

func commonSuffix(lines [][]byte) int {
	n := len(lines[0])
	for _, l := range lines[1:] {
		n = min(n, len(l))
		for i := 1; i <= n; i++ {
			if l[len(l)-i] != lines[0][len(lines[0])-i] {
				n = i - 1
				break
			}
		}
	}
	// the prefix and suffix must not overlap in any line
	p := commonPrefix(lines)
	for _, l := range lines {
		n = min(n, len(l)-p)
	}
	for n > 0 && isWord(lines[0][len(lines[0])-n]) {
		inside := false
		for _, l := range lines {
			if i := len(l) - n - 1; i >= 0 && isWord(l[i]) {
				inside = true
			}
		}
		if !inside {
			break
		}
		n--
	}
	return n
}
