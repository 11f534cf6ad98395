package standard

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

// Leaf attributes and map attributes, in the order messages list them.
var (
	leafAttrs = []string{"type", "required", "dict", "pattern", "excludePattern", "expr", "message",
		"secret", "delivery", "generator", "description"}
	mapAttrs = []string{"$mustAll", "$atLeastOne", "$key", "$whitelist", "$any", "$description", "$encryptSecrets"}
)

// Load parses and checks a standard. name is used in positions (e.g. rules/standard.yaml). Every
// problem in the standard is reported at once in one *Error, wrapped as a usage error (exit 2).
func Load(name string, data []byte, opt LoadOptions) (*Standard, error) {
	l := &loader{name: name, opt: opt}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.problems = append(l.problems, yamlProblem(name, err))
		return nil, l.err()
	}
	root := &mapRule{fields: map[string]*entry{}, pos: report.Pos{File: name, Line: 1, Col: 1}}
	if len(doc.Content) > 0 {
		top := deref(doc.Content[0])
		switch {
		case top.Kind == yaml.MappingNode:
			root = l.mapping("", top, pairs(top))
		case top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null":
		default:
			l.problem(top, "the top level of a standard must be a mapping of value keys to rules")
		}
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return &Standard{Name: name, root: root, encryptSecrets: l.encryptSecrets}, nil
}

type loader struct {
	name           string
	opt            LoadOptions
	problems       []Problem
	encryptSecrets bool // the root's $encryptSecrets
}

func (l *loader) err() error {
	if len(l.problems) == 0 {
		return nil
	}
	return cacerr.Wrap(cacerr.KindUsage, &Error{Name: l.name, Problems: l.problems})
}

func (l *loader) pos(n *yaml.Node) report.Pos {
	return report.Pos{File: l.name, Line: n.Line, Col: n.Column}
}

func (l *loader) problem(n *yaml.Node, format string, args ...any) {
	l.problems = append(l.problems, Problem{Pos: l.pos(n), Message: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func yamlProblem(name string, err error) Problem {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	p := Problem{Pos: report.Pos{File: name}, Message: "invalid YAML: " + msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Pos.Line, _ = strconv.Atoi(m[1])
		p.Message = "invalid YAML: " + m[2]
	}
	return p
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

type pair struct{ k, v *yaml.Node }

// pairs lists a mapping's key/value pairs, expanding merge keys (<<); explicit keys win.
func pairs(m *yaml.Node) []pair {
	var out, merged []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			v = deref(v)
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, s := range srcs {
				if s = deref(s); s.Kind == yaml.MappingNode {
					merged = append(merged, pairs(s)...)
				}
			}
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{k, v})
	}
	for _, p := range merged {
		if !seen[p.k.Value] {
			seen[p.k.Value] = true
			out = append(out, p)
		}
	}
	return out
}

// isLeaf: no "$" keys, no mapping values, and no empty values unless some attribute is set (then an
// empty value is a stray key, such as the tail of a description cut at a comma in a flow mapping).
func isLeaf(ps []pair) bool {
	nulls, attrs := false, false
	for _, p := range ps {
		v := deref(p.v)
		if strings.HasPrefix(p.k.Value, "$") || v.Kind == yaml.MappingNode {
			return false
		}
		if v.ShortTag() == "!!null" {
			nulls = true
		} else if isAttr(p.k.Value) {
			attrs = true
		}
	}
	return !nulls || attrs
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (l *loader) entry(path string, v *yaml.Node) *entry {
	v = deref(v)
	switch {
	case v.Kind == yaml.MappingNode:
		ps := pairs(v)
		if isLeaf(ps) {
			return &entry{leaf: l.leaf(path, v, ps)}
		}
		return &entry{m: l.mapping(path, v, ps)}
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
		return &entry{leaf: &Rule{Path: path, Pos: l.pos(v)}}
	}
	l.problem(v, "%s: expected a mapping, either of rule attributes (type: int, required: true ...) or of nested keys", path)
	return &entry{leaf: &Rule{Path: path, Pos: l.pos(v)}}
}

func (l *loader) mapping(path string, v *yaml.Node, ps []pair) *mapRule {
	m := &mapRule{path: path, pos: l.pos(v), fields: map[string]*entry{}}
	var mustAll, atLeastOne *yaml.Node
	for _, p := range ps {
		k, val := p.k, deref(p.v)
		switch k.Value {
		case "$mustAll":
			m.mustAll, mustAll = l.names(k.Value, val), val
		case "$atLeastOne":
			m.atLeastOne, atLeastOne = l.names(k.Value, val), val
		case "$key":
			m.keyUSN = l.keyAttr(val)
		case "$whitelist":
			m.whitelist = l.whitelist(val)
		case "$any":
			m.any = l.boolean(k.Value, val)
		case "$description":
			m.description = l.str(k.Value, val)
		case "$encryptSecrets":
			if path != "" {
				l.problem(k, "$encryptSecrets applies to the whole standard; put it at the top level")
				continue
			}
			l.encryptSecrets = l.boolean(k.Value, val)
		case "*":
			m.star = l.entry(join(path, "*"), val)
		default:
			if strings.HasPrefix(k.Value, "$") {
				l.problem(k, "unknown mapping attribute %s%s; mapping attributes are %s", k.Value,
					suggest(k.Value, mapAttrs), strings.Join(mapAttrs, ", "))
				continue
			}
			m.keys = append(m.keys, k.Value)
			m.fields[k.Value] = l.entry(join(path, k.Value), val)
		}
	}
	for _, c := range []struct {
		attr  string
		names []string
		n     *yaml.Node
	}{{"$mustAll", m.mustAll, mustAll}, {"$atLeastOne", m.atLeastOne, atLeastOne}} {
		for _, name := range c.names {
			if _, ok := m.fields[name]; !ok && m.star == nil {
				l.problem(c.n, "%s names %q, which is not a key of this mapping (keys: %s)", c.attr, name, strings.Join(m.keys, ", "))
			}
		}
	}
	return m
}

func (l *loader) names(attr string, v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		l.problem(v, "%s must be a non-empty list of key names, e.g. %s: [ip, port]", attr, attr)
		return nil
	}
	var out []string
	for _, it := range v.Content {
		it = deref(it)
		if it.Kind != yaml.ScalarNode || it.ShortTag() == "!!null" {
			l.problem(it, "%s must list key names", attr)
			continue
		}
		out = append(out, it.Value)
	}
	return out
}

func (l *loader) keyAttr(v *yaml.Node) bool {
	if v.Kind != yaml.MappingNode {
		l.problem(v, "$key must be a mapping: $key: {usn: true}")
		return false
	}
	usn := false
	for _, p := range pairs(v) {
		if p.k.Value != "usn" {
			l.problem(p.k, "unknown $key check %q; the only check is usn: true (tag names must be known services)", p.k.Value)
			continue
		}
		usn = l.boolean("$key.usn", deref(p.v))
	}
	return usn
}

func (l *loader) whitelist(v *yaml.Node) *whitelist {
	file := l.str("$whitelist", v)
	if file == "" {
		return nil
	}
	if l.opt.ReadFile == nil {
		l.problem(v, "$whitelist %s cannot be read: this standard was loaded without access to the files beside it", file)
		return nil
	}
	data, err := l.opt.ReadFile(path.Clean(file))
	if err != nil {
		l.problem(v, "$whitelist %s cannot be read: %v", file, err)
		return nil
	}
	var list []string
	if err := yaml.Unmarshal(data, &list); err != nil {
		l.problem(v, "$whitelist %s must be a YAML list of service names (- user-center): %v", file, err)
		return nil
	}
	w := &whitelist{file: path.Join(path.Dir(l.name), file), usns: map[string]bool{}}
	for _, u := range list {
		w.usns[u] = true
	}
	return w
}

func (l *loader) boolean(attr string, v *yaml.Node) bool {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
		l.problem(v, "%s must be true or false", attr)
		return false
	}
	return strings.EqualFold(v.Value, "true")
}

func (l *loader) str(attr string, v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
		l.problem(v, "%s must be a single text value", attr)
		return ""
	}
	return v.Value
}

func (l *loader) leaf(path string, v *yaml.Node, ps []pair) *Rule {
	r := &Rule{Path: path, Pos: l.pos(v)}
	var dict, typ, delivery *yaml.Node
	anyAttr := false
	for _, p := range ps {
		anyAttr = anyAttr || isAttr(p.k.Value)
	}
	for _, p := range ps {
		k, val := p.k, deref(p.v)
		switch k.Value {
		case "type":
			typ = val
			switch r.Type = l.str("type", val); r.Type {
			case TypeString, TypeInt, TypeFloat, TypeBool, "":
			default:
				l.problem(val, "%s: unknown type %q; use string, int, float or bool", path, r.Type)
			}
		case "required":
			r.Required = l.boolean("required", val)
		case "secret":
			r.Secret = l.boolean("secret", val)
		case "dict":
			dict = val
			r.Dict, r.dictTag = l.dict(path, val)
		case "pattern":
			r.Pattern = l.str("pattern", val)
			r.pattern = l.regexp(path, "pattern", val, r.Pattern)
		case "excludePattern":
			r.ExcludePattern = l.str("excludePattern", val)
			r.exclude = l.regexp(path, "excludePattern", val, r.ExcludePattern)
		case "expr":
			r.Expr = l.str("expr", val)
			l.expr(r, val)
		case "message":
			r.Message = l.str("message", val)
		case "description":
			r.Description = l.str("description", val)
		case "delivery":
			delivery = val
			switch r.Delivery = l.str("delivery", val); r.Delivery {
			case DeliveryAuto, DeliveryCopy, DeliveryManual, "":
			default:
				l.problem(val, "%s: unknown delivery %q; use auto (filled by a generator), copy (taken from the source region) or manual", path, r.Delivery)
			}
		case "generator":
			r.Generator = l.str("generator", val)
			if prog, err := expr.Compile(r.Generator, exprOptions...); r.Generator != "" && err != nil {
				l.problem(val, "%s: generator does not compile: %s", path, oneLine(err))
			} else {
				r.generator = prog
			}
		default:
			hint := ""
			if !anyAttr {
				hint = fmt.Sprintf("; to declare nested keys give each one a mapping, e.g. %s: {type: string}", k.Value)
			}
			l.problem(k, "%s: unknown attribute %q%s; leaf attributes are %s%s", path, k.Value,
				suggest(k.Value, leafAttrs), strings.Join(leafAttrs, ", "), hint)
		}
	}
	if dict != nil && typ != nil && r.dictTag != "" && !tagFits(r.Type, r.dictTag) {
		l.problem(dict, "%s: dict values are %ss but the type is %s; make them agree", path, tagName(r.dictTag), r.Type)
	}
	if r.Delivery == DeliveryAuto && r.Generator == "" {
		l.problem(delivery, "%s: delivery auto needs a generator expression that computes the value", path)
	}
	if r.Generator != "" && r.Delivery != DeliveryAuto {
		l.problem(v, "%s: a generator is used only with delivery: auto", path)
	}
	return r
}

func isAttr(k string) bool {
	for _, a := range leafAttrs {
		if a == k {
			return true
		}
	}
	return false
}

func (l *loader) dict(path string, v *yaml.Node) ([]string, string) {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		l.problem(v, "%s: dict must be a non-empty list of allowed values, e.g. dict: [sim, online]", path)
		return nil, ""
	}
	var out []string
	tag := ""
	for _, it := range v.Content {
		it = deref(it)
		if it.Kind != yaml.ScalarNode || it.ShortTag() == "!!null" {
			l.problem(it, "%s: dict values must be single values (text, numbers or booleans)", path)
			continue
		}
		t := it.ShortTag()
		if tag == "" {
			tag = t
		} else if t != tag {
			l.problem(it, "%s: dict mixes types: %q is a %s but the first value is a %s; quote numbers to make them all text",
				path, it.Value, tagName(t), tagName(tag))
			continue
		}
		out = append(out, (&values.Node{Kind: values.Scalar, Tag: t, Value: it.Value}).Text())
	}
	return out, tag
}

func tagName(tag string) string {
	switch tag {
	case "!!str":
		return "string"
	case "!!int":
		return "int"
	case "!!float":
		return "float"
	case "!!bool":
		return "bool"
	}
	return strings.TrimPrefix(tag, "!!")
}

// tagFits reports whether a scalar with YAML tag tag is of the standard type typ.
func tagFits(typ, tag string) bool {
	switch typ {
	case TypeString:
		return tag == "!!str"
	case TypeInt:
		return tag == "!!int"
	case TypeFloat:
		return tag == "!!float" || tag == "!!int"
	case TypeBool:
		return tag == "!!bool"
	}
	return true
}

func (l *loader) regexp(path, attr string, v *yaml.Node, src string) *regexp.Regexp {
	re, err := regexp.Compile(anchor(src))
	if err != nil {
		l.problem(v, "%s: %s is not a valid Go regular expression: %s", path, attr, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return nil
	}
	return re
}

// anchor makes a pattern match whole values only.
func anchor(p string) string { return `^(?:` + p + `)$` }

func (l *loader) expr(r *Rule, v *yaml.Node) {
	if r.Expr == "" {
		return
	}
	prog, err := expr.Compile(r.Expr, append(exprOptions[:len(exprOptions):len(exprOptions)], expr.AsBool())...)
	if err != nil {
		l.problem(v, "%s: expr does not compile to true/false: %s", r.Path, oneLine(err))
		return
	}
	r.program = prog
	node := prog.Node()
	ast.Walk(&node, usesValues{&r.useValues})
}

type usesValues struct{ found *bool }

func (u usesValues) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok && id.Value == "values" {
		*u.found = true
	}
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// suggest returns `; did you mean "x"?` for the closest name, or "".
func suggest(got string, names []string) string {
	best, bestD := "", 2+len(got)/3
	for _, n := range names {
		if d := distance(strings.ToLower(got), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
