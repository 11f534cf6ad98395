package configmerge

import (
	"bytes"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Range is lines Start to End of a file, 1-based and inclusive; End == Start-1 is the empty
// range just before line Start (a pure insertion point or a deletion).
type Range struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

func (r Range) String() string {
	switch {
	case r.End < r.Start:
		return fmt.Sprintf("none before line %d", r.Start)
	case r.End == r.Start:
		return fmt.Sprintf("line %d", r.Start)
	}
	return fmt.Sprintf("lines %d-%d", r.Start, r.End)
}

// Region is one conflicting change: the lines of the merge base both sides changed, and what each
// side made of them.
type Region struct {
	Base   Range `json:"base"`
	Ours   Range `json:"ours"`   // in the default branch's file
	Theirs Range `json:"theirs"` // in the merged branch's file
}

// Merge3 merges, line by line, the changes from base to ours and from base to theirs (diff3). A
// change made on one side only is taken; the same change made on both sides is taken once; changes
// of both sides to overlapping or adjacent lines are a conflict, as in git. With conflicts, merged
// is nil.
func Merge3(base, ours, theirs []byte) (merged []byte, conflicts []Region) {
	b, o, t := splitLines(base), splitLines(ours), splitLines(theirs)
	if len(b)+len(o)+len(t) > maxLines {
		return nil, []Region{{Base: Range{1, len(b)}, Ours: Range{1, len(o)}, Theirs: Range{1, len(t)}}}
	}
	all := append(hunks(b, o, sideOurs), hunks(b, t, sideTheirs)...)
	slices.SortStableFunc(all, func(x, y hunk) int { return x.bs - y.bs })
	var out []string
	pos := 0
	for i := 0; i < len(all); {
		group := []hunk{all[i]}
		gs, ge := all[i].bs, all[i].be
		for i++; i < len(all) && all[i].bs <= ge; i++ {
			group = append(group, all[i])
			ge = max(ge, all[i].be)
		}
		out = append(out, b[pos:gs]...)
		pos = ge
		ov, os, oChanged := apply(b, group, gs, ge, sideOurs)
		tv, ts, tChanged := apply(b, group, gs, ge, sideTheirs)
		switch {
		case !tChanged:
			out = append(out, ov...)
		case !oChanged || slices.Equal(ov, tv):
			out = append(out, tv...)
		default:
			conflicts = append(conflicts, Region{
				Base:   Range{gs + 1, ge},
				Ours:   Range{os + 1, os + len(ov)},
				Theirs: Range{ts + 1, ts + len(tv)},
			})
		}
	}
	if len(conflicts) > 0 {
		return nil, conflicts
	}
	out = append(out, b[pos:]...)
	var buf bytes.Buffer
	for _, l := range out {
		buf.WriteString(l)
	}
	return buf.Bytes(), nil
}

// maxLines bounds the lines Merge3 diffs (each distinct line must map to its own rune); larger
// files are left to a person.
const maxLines = 1 << 20

type side int

const (
	sideOurs side = iota
	sideTheirs
)

// hunk replaces base lines [bs, be) by lines, which start at line ss (0-based) of its side.
type hunk struct {
	side   side
	bs, be int
	ss     int
	lines  []string
}

// apply is base lines [gs, ge) with the hunks of side s in group applied; start is where they
// begin in that side's file (0-based), changed whether s has a hunk in the group.
func apply(base []string, group []hunk, gs, ge int, s side) (lines []string, start int, changed bool) {
	cur := gs
	start = -1
	for _, h := range group {
		if h.side != s {
			continue
		}
		if start < 0 {
			start = h.ss - (h.bs - gs) // base lines before h are unchanged on this side
		}
		lines = append(lines, base[cur:h.bs]...)
		lines = append(lines, h.lines...)
		cur = h.be
	}
	if start < 0 {
		return nil, 0, false
	}
	return append(lines, base[cur:ge]...), start, true
}

// splitLines splits text after each newline; a last line without one is a line of its own.
func splitLines(text []byte) []string {
	var lines []string
	for len(text) > 0 {
		i := bytes.IndexByte(text, '\n') + 1
		if i == 0 {
			i = len(text)
		}
		lines = append(lines, string(text[:i]))
		text = text[i:]
	}
	return lines
}

// hunks are the changes from base to other, computed by a Myers diff over whole lines (each
// distinct line mapped to one rune, skipping the surrogate range so every rune survives the
// diff's string handling).
func hunks(base, other []string, s side) []hunk {
	ids := map[string]rune{}
	toRunes := func(lines []string) []rune {
		rs := make([]rune, len(lines))
		for i, l := range lines {
			r, ok := ids[l]
			if !ok {
				r = rune(len(ids) + 1)
				if r >= 0xD800 {
					r += 0x800
				}
				ids[l] = r
			}
			rs[i] = r
		}
		return rs
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0 // always the minimal diff: the same input gives the same merge
	diffs := dmp.DiffMainRunes(toRunes(base), toRunes(other), false)
	var out []hunk
	var cur *hunk
	bi, oi := 0, 0
	for _, d := range diffs {
		n := utf8.RuneCountInString(d.Text)
		if d.Type == diffmatchpatch.DiffEqual {
			if cur != nil {
				out = append(out, *cur)
				cur = nil
			}
			bi, oi = bi+n, oi+n
			continue
		}
		if cur == nil {
			cur = &hunk{side: s, bs: bi, be: bi, ss: oi}
		}
		if d.Type == diffmatchpatch.DiffDelete {
			bi += n
			cur.be = bi
		} else {
			cur.lines = append(cur.lines, other[oi:oi+n]...)
			oi += n
		}
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}
