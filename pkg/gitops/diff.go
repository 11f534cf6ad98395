package gitops

import (
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/cacproj/cac/pkg/diff"
)

// changesBetween lists the files that differ between the tip's tree and the new tree (subtrees with
// equal hashes are skipped, so this costs only what changed) and, when withDiff, a unified diff
// written by pkg/diff, as `cac diff` writes one.
func changesBetween(base *object.Tree, st storer.EncodedObjectStorer, newTree plumbing.Hash, withDiff bool) ([]FileChange, string, error) {
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
			from, to := "a/"+fc.Path, "b/"+fc.Path
			switch fc.Op {
			case "add":
				from = "/dev/null"
			case "delete":
				to = "/dev/null"
			}
			diffs[fc.Path] = diff.Unified(from, to, oldText, newText)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	var sb strings.Builder
	for _, fc := range out {
		sb.WriteString(diffs[fc.Path])
	}
	return out, sb.String(), nil
}
