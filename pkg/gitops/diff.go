package gitops

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// changesBetween lists the files that differ between the tip's tree and the new tree (subtrees with
// equal hashes are skipped, so this costs only what changed) and, when withDiff, a unified diff.
func changesBetween(base *object.Tree, st *memory.Storage, newTree plumbing.Hash, withDiff bool) ([]FileChange, string, error) {
	to := &object.Tree{}
	if !newTree.IsZero() {
		var err error
		if to, err = object.GetTree(st, newTree); err != nil {
			return nil, "", err
		}
	}
	from := base
	if from == nil {
		from = &object.Tree{}
	}
	chs, err := object.DiffTree(from, to)
	if err != nil {
		return nil, "", err
	}
	var out []FileChange
	diffs := map[string]string{}
	for _, ch := range chs {
		a, b, err := ch.Files()
		if err != nil {
			return nil, "", err
		}
		fc := FileChange{Path: ch.To.Name, Op: "modify"}
		switch {
		case a == nil:
			fc.Op = "add"
		case b == nil:
			fc.Path, fc.Op = ch.From.Name, "delete"
		}
		out = append(out, fc)
		if withDiff {
			var oldText, newText string
			if a != nil {
				if oldText, err = a.Contents(); err != nil {
					return nil, "", err
				}
			}
			if b != nil {
				if newText, err = b.Contents(); err != nil {
					return nil, "", err
				}
			}
			diffs[fc.Path] = unified(fc, oldText, newText)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	var sb strings.Builder
	for _, fc := range out {
		sb.WriteString(diffs[fc.Path])
	}
	return out, sb.String(), nil
}

const diffContext = 3

// unified renders a unified diff of one file with sergi/go-diff's line mode.
func unified(fc FileChange, oldText, newText string) string {
	dmp := diffmatchpatch.New()
	a, b, lines := dmp.DiffLinesToChars(oldText, newText)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines)
	type line struct {
		op   byte
		text string
	}
	var ls []line
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = '-'
		case diffmatchpatch.DiffInsert:
			op = '+'
		}
		text := strings.TrimSuffix(d.Text, "\n")
		for _, t := range strings.Split(text, "\n") {
			ls = append(ls, line{op, t})
		}
	}
	oldName, newName := "a/"+fc.Path, "b/"+fc.Path
	if fc.Op == "add" {
		oldName = "/dev/null"
	}
	if fc.Op == "delete" {
		newName = "/dev/null"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", oldName, newName)
	// Group changed lines with diffContext lines around them into hunks.
	for i := 0; i < len(ls); {
		if ls[i].op == ' ' {
			i++
			continue
		}
		start := max(0, i-diffContext)
		end := i
		for j := i; j < len(ls); j++ {
			if ls[j].op != ' ' {
				end = j
			} else if j-end > 2*diffContext {
				break
			}
		}
		end = min(len(ls), end+diffContext+1)
		oldStart, newStart := 1, 1
		for _, l := range ls[:start] {
			if l.op != '+' {
				oldStart++
			}
			if l.op != '-' {
				newStart++
			}
		}
		oldN, newN := 0, 0
		for _, l := range ls[start:end] {
			if l.op != '+' {
				oldN++
			}
			if l.op != '-' {
				newN++
			}
		}
		if oldN == 0 {
			oldStart--
		}
		if newN == 0 {
			newStart--
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", oldStart, oldN, newStart, newN)
		for _, l := range ls[start:end] {
			sb.WriteString(string(l.op) + l.text + "\n")
		}
		i = end
	}
	return sb.String()
}
