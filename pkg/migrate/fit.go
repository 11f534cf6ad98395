package migrate

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
)

// RuleKeptFree is the warning rule of a value that import named by a standard path but kept under
// the free-form root, because there it would break the standard.
const RuleKeptFree = "import/standard"

// fitStandard keeps a standard path (mysql.<tag>.username ...) only for values that, together with
// their siblings, satisfy the standard there: the leaf's own rules (type, pattern, excludePattern,
// dict, expr) and the map-level rules ($mustAll, $atLeastOne, required keys) of the entry they would
// create, in every region, over _global/<region>.yaml. Any other such hole moves to its free-form path
// under the root, with a warning saying why. It tries the placement on copies of the region files
// (docs is left as it was) and repeats until no standard path breaks a rule: a moved value can leave
// its siblings' entry incomplete.
func fitStandard(holes []*hole, docs []*regionDoc, globals []*values.Node, vs []*variant, nm namer) error {
	if nm.std == nil {
		return nil
	}
	for {
		var std []*hole
		for _, h := range holes {
			if h.rule.std {
				std = append(std, h)
			}
		}
		if len(std) == 0 {
			return nil
		}
		trial := make([]*regionDoc, len(docs))
		for k, d := range docs {
			trial[k] = d.clone()
		}
		if err := assign(holes, trial, vs); err != nil {
			return err
		}
		moved := false
		for k, d := range trial {
			data, err := d.bytes()
			if err != nil {
				return err
			}
			n, probs := values.Parse(d.rel, data)
			if len(probs) > 0 {
				continue // verify names the problem
			}
			var errs []report.Finding
			for _, f := range nm.std.Validate(standard.Input{Region: d.region, USN: nm.usn, Values: values.Merge(globals[k], n)}) {
				if f.Severity == report.SeverityError {
					errs = append(errs, f)
				}
			}
			for _, h := range std {
				if !h.rule.std {
					continue
				}
				if f, ok := why(errs, h.path); ok {
					h.keepFree(f, vs[k], h.at[k], nm.root)
					moved = true
				}
			}
		}
		if !moved {
			return nil
		}
	}
}

// why picks the finding that keeps the value at path p off the standard: one about the value itself,
// else one about the entry it would be part of.
func why(errs []report.Finding, p string) (report.Finding, bool) {
	for _, f := range errs {
		if f.Path == p {
			return f, true
		}
	}
	for _, f := range errs {
		if breaks(f, p) {
			return f, true
		}
	}
	return report.Finding{}, false
}

// breaks tells whether finding f is about the value at path p or the entry p would be part of.
func breaks(f report.Finding, p string) bool {
	entry := parent(p)
	switch {
	case f.Path == p, f.Path == entry:
		return true
	case f.Rule == standard.RuleRequired && parent(f.Path) == entry:
		return true // a required sibling is missing
	case f.Rule == standard.RuleUnknownKey || f.Rule == standard.RuleWhitelist:
		return strings.HasPrefix(p, f.Path+".") // the standard has no such section, or not for this service
	}
	return false
}

func parent(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// keepFree moves the hole from its standard path to its free-form path and notes why.
func (h *hole) keepFree(f report.Finding, v *variant, line int, root string) {
	why := strings.TrimSuffix(f.Message, ".")
	if i := strings.Index(why, ". Add "); i >= 0 { // the advice names the rejected place
		why = why[:i]
	}
	msg := fmt.Sprintf("kept under %s: %s fails %s: %s", root, h.path, f.Rule, why)
	if f.Path != h.path {
		msg = fmt.Sprintf("kept under %s: %s would be part of %s, which fails %s: %s", root, h.path, f.Path, f.Rule, why)
	}
	h.note = &report.Finding{Pos: report.Pos{File: v.file, Line: line}, Region: v.region, Rule: RuleKeptFree,
		Severity: report.SeverityWarning, Message: msg}
	h.rule = pathRule{path: h.rule.free, vary: h.rule.freeVary}
}

// clone is a deep copy of the region file, to try a placement on.
func (d *regionDoc) clone() *regionDoc {
	c := *d
	c.doc = cloneNode(d.doc)
	return &c
}

func cloneNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = cloneNode(x)
	}
	c.Alias = cloneNode(n.Alias)
	return &c
}
