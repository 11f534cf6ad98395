// Package diff compares two rendered config trees (base and head) and lays the result out as a
// unified text diff, JSON, or markdown comment parts for a merge-request bot (docs/design.md §5).
// Secret values are replaced by tokens before anything is compared, so no output can carry them.
package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Tree is a rendered config tree: region → output file path (forward slashes) → content
// (pipeline.Tree.Contents gives it).
type Tree map[string]map[string][]byte

// Secret is a secret value's config path and its value on each side. Every occurrence of either
// value is replaced by a token before diffing; a changed value reads "<secret PATH: changed>" on
// the head side, so the line shows as changed without showing a value.
//
// Region, when set, is the region whose files the secret belongs to: there its token wins over
// another region's secret with the same value, so each region's lines are paired with their own
// secret (a region rotated to another region's current value does not make that region's
// unchanged line read as changed).
type Secret struct {
	Path       string
	Region     string
	Base, Head string
	// NotCompared: the values are ciphertext (no key to decrypt them); both sides read
	// "<secret PATH: encrypted, not compared>".
	NotCompared bool
}

// Options tune Compute.
type Options struct {
	Context int // lines of context around each change; 0 means the default 3, <0 means none
	Secrets []Secret
}

// Status of a file or region.
type Status string

const (
	Added    Status = "added"
	Removed  Status = "removed"
	Modified Status = "modified"
)

// File is the diff of one output file in one region.
type File struct {
	Region  string `json:"region"`
	Path    string `json:"path"`
	Status  Status `json:"status"`
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
	Binary  bool   `json:"binary,omitempty"`
	// Unified holds the hunks (@@ headers, context, -/+ lines), each line ending in "\n",
	// without the ---/+++ file headers. Empty for binary files.
	Unified string `json:"unified,omitempty"`
}

// Region groups the changed files of one region.
type Region struct {
	Name    string `json:"name"`
	Status  Status `json:"status"` // added or removed when the whole region is new or gone
	Files   []File `json:"files"`
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
}

// Totals sum a Result.
type Totals struct {
	Regions int `json:"regions"` // regions with a change
	Files   int `json:"files"`   // files with a change
	Added   int `json:"added"`
	Removed int `json:"removed"`
}

// Result is the diff of two trees, regions and files sorted by name; unchanged ones are left out.
type Result struct {
	Regions []Region `json:"regions"`
	Totals  Totals   `json:"totals"`
}

// Changed reports whether anything differs.
func (r *Result) Changed() bool { return len(r.Regions) > 0 }

// Compute diffs base against head.
func Compute(base, head Tree, opt Options) *Result {
	ctx := opt.Context
	switch {
	case ctx == 0:
		ctx = 3
	case ctx < 0:
		ctx = 0
	}
	dmp := newDMP()
	res := &Result{Regions: []Region{}}
	for _, name := range unionKeys(base, head) {
		bf, hf := base[name], head[name]
		maskBase, maskHead := maskers(opt.Secrets, name)
		reg := Region{Name: name, Status: Modified}
		switch {
		case bf == nil:
			reg.Status = Added
		case hf == nil:
			reg.Status = Removed
		}
		for _, path := range unionKeys(bf, hf) {
			b, inBase := bf[path]
			h, inHead := hf[path]
			if inBase && inHead && string(b) == string(h) {
				continue
			}
			f := File{Region: name, Path: path, Status: Modified}
			switch {
			case !inBase:
				f.Status = Added
			case !inHead:
				f.Status = Removed
			}
			bs, hs := maskBase(string(b)), maskHead(string(h))
			if inBase && inHead && bs == hs {
				continue // cannot happen with consistent secrets; never report an empty diff
			}
			if isBinary(bs) || isBinary(hs) {
				f.Binary = true
			} else {
				f.Unified, f.Added, f.Removed = unified(dmp, bs, hs, ctx)
			}
			reg.Files = append(reg.Files, f)
			reg.Added += f.Added
			reg.Removed += f.Removed
		}
		if len(reg.Files) == 0 {
			continue
		}
		res.Regions = append(res.Regions, reg)
		res.Totals.Regions++
		res.Totals.Files += len(reg.Files)
		res.Totals.Added += reg.Added
		res.Totals.Removed += reg.Removed
	}
	return res
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func isBinary(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// maskers returns the replacement functions for the base and head sides of region's files. Both
// values of every secret are masked on both sides; longer values go first so no part of a longer
// secret survives a shorter one being replaced inside it, and among equal values the region's own
// secrets go first.
func maskers(secrets []Secret, region string) (base, head func(string) string) {
	type pair struct {
		val, tok string
		own      bool
	}
	var bp, hp []pair
	for _, s := range secrets {
		tok := "<secret " + s.Path + ">"
		headTok := tok
		switch {
		case s.NotCompared:
			tok = "<secret " + s.Path + ": encrypted, not compared>"
			headTok = tok
		case s.Base != s.Head:
			headTok = "<secret " + s.Path + ": changed>"
		}
		own := s.Region != "" && s.Region == region
		if s.Base != "" {
			bp = append(bp, pair{s.Base, tok, own})
			hp = append(hp, pair{s.Base, tok, own})
		}
		if s.Head != "" {
			bp = append(bp, pair{s.Head, tok, own})
			hp = append(hp, pair{s.Head, headTok, own})
		}
	}
	build := func(ps []pair) func(string) string {
		if len(ps) == 0 {
			return func(s string) string { return s }
		}
		slices.SortStableFunc(ps, func(a, b pair) int {
			if c := cmp.Compare(len(b.val), len(a.val)); c != 0 {
				return c
			}
			switch {
			case a.own && !b.own:
				return -1
			case b.own && !a.own:
				return 1
			}
			return 0
		})
		args := make([]string, 0, 2*len(ps))
		for _, p := range ps {
			args = append(args, p.val, p.tok)
		}
		return strings.NewReplacer(args...).Replace
	}
	return build(bp), build(hp)
}

func newDMP() *diffmatchpatch.DiffMatchPatch {
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0 // deterministic output; line mode is fast enough
	return dmp
}

// Unified is the unified diff of one file as `cac diff` writes it (WriteText): "--- from" and
// "+++ to" headers (a/<path>, b/<path>, /dev/null for a side that does not exist), then hunks
// with 3 lines of context, a line without a final newline marked "\ No newline at end of file".
// A binary file (one holding a NUL byte) is one "Binary files ... differ" line. "" when a and b
// are equal.
func Unified(from, to, a, b string) string {
	if a == b {
		return ""
	}
	if isBinary(a) || isBinary(b) {
		return binaryLine(from, to)
	}
	hunks, _, _ := unified(newDMP(), a, b, 3)
	return fileHeader(from, to) + hunks
}

func fileHeader(from, to string) string { return "--- " + from + "\n+++ " + to + "\n" }

func binaryLine(from, to string) string { return "Binary files " + from + " and " + to + " differ\n" }

// op is one line of an edit script.
type op struct {
	kind byte // ' ', '-', '+'
	text string
}

// unified returns the hunks of a line diff of a and b, and the counts of added and removed lines.
func unified(dmp *diffmatchpatch.DiffMatchPatch, a, b string, context int) (string, int, int) {
	ra, rb, lines := dmp.DiffLinesToRunes(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMainRunes(ra, rb, false), lines)

	// Flatten to one op per line; inside each run of changes, deletions come before insertions.
	var ops []op
	var dels, inss []op
	flush := func() {
		ops = append(ops, dels...)
		ops = append(ops, inss...)
		dels, inss = dels[:0], inss[:0]
	}
	added, removed := 0, 0
	for _, d := range diffs {
		for _, l := range splitLines(d.Text) {
			switch d.Type {
			case diffmatchpatch.DiffEqual:
				flush()
				ops = append(ops, op{' ', l})
			case diffmatchpatch.DiffDelete:
				dels = append(dels, op{'-', l})
				removed++
			case diffmatchpatch.DiffInsert:
				inss = append(inss, op{'+', l})
				added++
			}
		}
	}
	flush()

	var sb strings.Builder
	oldLine, newLine := 0, 0 // lines consumed before ops[i]
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			oldLine++
			newLine++
			i++
			continue
		}
		// A hunk starts `context` lines before this change and runs until a gap of more than
		// 2*context unchanged lines.
		start := max(0, i-context)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j + 1
				continue
			}
			if j-end >= 2*context {
				break
			}
		}
		end = min(len(ops), end+context)
		lead := i - start
		oStart, nStart := oldLine-lead, newLine-lead
		oCount, nCount := 0, 0
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				oCount++
			}
			if o.kind != '-' {
				nCount++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", rangeStr(oStart, oCount), rangeStr(nStart, nCount))
		for _, o := range ops[start:end] {
			sb.WriteByte(o.kind)
			sb.WriteString(o.text)
			if !strings.HasSuffix(o.text, "\n") {
				sb.WriteString("\n\\ No newline at end of file\n")
			}
		}
		for _, o := range ops[i:end] {
			if o.kind != '+' {
				oldLine++
			}
			if o.kind != '-' {
				newLine++
			}
		}
		i = end
	}
	return sb.String(), added, removed
}

// rangeStr formats a hunk range like diff -u: "start,count", the count omitted when 1, and the
// start naming the line before when the range is empty.
func rangeStr(before, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", before)
	case 1:
		return fmt.Sprintf("%d", before+1)
	}
	return fmt.Sprintf("%d,%d", before+1, count)
}

// splitLines splits s after each "\n", keeping the terminators; a last line without one is kept.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// Summary is a one-line description of r, fit for a commit status.
func (r *Result) Summary() string {
	if !r.Changed() {
		return "No change to the rendered config"
	}
	t := r.Totals
	return fmt.Sprintf("%s changed in %s (+%d −%d)", plural(t.Files, "file"), plural(t.Regions, "region"), t.Added, t.Removed)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
