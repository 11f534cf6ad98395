package standard

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm"

	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

// Input is one service's effective values in one region.
type Input struct {
	Region   string
	USN      string
	Values   *values.Node // effective (layered) values; nil is an empty mapping
	Registry *Registry    // known service names for $key: {usn: true}; nil skips that check with a warning
}

// Validate checks the values against the standard and returns every finding, in report.Sort order.
func (s *Standard) Validate(in Input) []report.Finding {
	root := in.Values
	if root == nil {
		root = &values.Node{Kind: values.Map, Fields: map[string]*values.Node{}}
	}
	v := &validator{in: in, root: root, encryptSecrets: s.encryptSecrets}
	v.mapping(s.root, root, "")
	report.Sort(v.findings)
	return v.findings
}

type validator struct {
	in             Input
	encryptSecrets bool
	root           *values.Node
	plain          map[string]any // root as plain Go values, built on first use by an expression
	vm             vm.VM
	warned         bool // the missing-registry warning was given
	findings       []report.Finding
}

func (v *validator) add(pos report.Pos, path, rule, msg string) {
	v.findings = append(v.findings, report.Finding{Pos: pos, Region: v.in.Region, Path: path, Rule: rule,
		Message: msg, Severity: report.SeverityError})
}

// at is where a finding about a mapping points: its key, or the value for the root.
func at(n *values.Node) report.Pos {
	if n.KeyPos.Line != 0 {
		return n.KeyPos
	}
	return n.Pos
}

func present(n *values.Node, key string) bool {
	c := n.Field(key)
	return c != nil && c.Kind != values.Null
}

func (v *validator) mapping(m *mapRule, n *values.Node, path string) {
	switch n.Kind {
	case values.Null:
		n = &values.Node{Kind: values.Map, Pos: n.Pos, KeyPos: n.KeyPos}
	case values.Map:
	default:
		v.add(n.Pos, path, RuleType, fmt.Sprintf("must be a mapping of keys (%s), not %s", keyHint(m), kindName(n)))
		return
	}
	if w := m.whitelist; w != nil && !w.usns[v.in.USN] && len(n.Keys) > 0 {
		who := fmt.Sprintf("service %q is", v.in.USN)
		if v.in.USN == "" {
			who = "this service (no --usn) is"
		}
		v.add(at(n), path, RuleWhitelist, fmt.Sprintf("only the services listed in %s may use %s, and %s not listed; "+
			"move these settings to keys the standard defines, or ask the standard's owners to add the service to %s",
			w.file, path, who, w.file))
		return
	}
	for _, k := range n.Keys {
		child := n.Fields[k]
		p := join(path, k)
		if m.keyUSN {
			v.usn(n, child, path, k)
		}
		e := m.child(k)
		if e == nil {
			if !m.any {
				v.unknown(m, child, p, k)
			}
			continue
		}
		if e.leaf != nil {
			v.leaf(e.leaf, child, p)
		} else {
			v.mapping(e.m, child, p)
		}
	}
	for _, k := range m.keys {
		if e := m.fields[k]; n.Field(k) == nil && requires(e) {
			v.missing(e, n, path, k)
		}
	}
	if missing := absent(n, m.mustAll); len(missing) > 0 {
		v.add(at(n), path, RuleMustAll, fmt.Sprintf("must contain all of %s; missing: %s. Add %s %s",
			strings.Join(m.mustAll, ", "), strings.Join(missing, ", "), them(len(missing)), v.where(n, path)))
	}
	if len(m.atLeastOne) > 0 && len(absent(n, m.atLeastOne)) == len(m.atLeastOne) {
		v.add(at(n), path, RuleAtLeastOne, fmt.Sprintf("needs at least one of %s, and has none. Add one %s",
			strings.Join(m.atLeastOne, ", "), v.where(n, path)))
	}
}

func absent(n *values.Node, keys []string) []string {
	var out []string
	for _, k := range keys {
		if !present(n, k) {
			out = append(out, k)
		}
	}
	return out
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// where says where to add a key to the mapping n at path.
func (v *validator) where(n *values.Node, path string) string {
	if path == "" {
		return fmt.Sprintf("at the top level of %s (or of _global/%s.yaml if every service of the region shares it)", n.Pos.File, v.in.Region)
	}
	return fmt.Sprintf("under %s in %s (line %d)", path, at(n).File, at(n).Line)
}

func kindName(n *values.Node) string {
	switch n.Kind {
	case values.Map:
		return "a mapping"
	case values.List:
		return "a list"
	case values.Null:
		return "empty"
	}
	return "a single value"
}

func keyHint(m *mapRule) string {
	if len(m.keys) == 0 {
		return "one entry per tag name, e.g. main:"
	}
	return keyList(m.keys)
}

func keyList(keys []string) string {
	const max = 10
	if len(keys) > max {
		return strings.Join(keys[:max], ", ") + fmt.Sprintf(" and %d more", len(keys)-max)
	}
	return strings.Join(keys, ", ")
}

// requires reports whether a missing key is a finding: a required leaf, or a mapping with required keys.
func requires(e *entry) bool {
	if e.leaf != nil {
		return e.leaf.Required
	}
	return len(requiredKeys(e.m)) > 0
}

func requiredKeys(m *mapRule) []string {
	var out []string
	for _, k := range m.keys {
		if requires(m.fields[k]) {
			out = append(out, k)
		}
	}
	return out
}

func (v *validator) missing(e *entry, n *values.Node, path, key string) {
	p := join(path, key)
	if e.leaf != nil {
		msg := fmt.Sprintf("required key %s is missing; add %s: %s %s", key, key, example(e.leaf), v.where(n, path))
		v.add(at(n), p, RuleRequired, withDescription(custom(e.leaf, msg), e.leaf))
		return
	}
	msg := fmt.Sprintf("required section %s is missing; add %s with %s %s", key, key, strings.Join(requiredKeys(e.m), ", "), v.where(n, path))
	if d := e.m.description; d != "" {
		msg += ". " + strings.TrimSuffix(d, ".") + "."
	}
	v.add(at(n), p, RuleRequired, msg)
}

func (v *validator) unknown(m *mapRule, child *values.Node, path, key string) {
	msg := fmt.Sprintf("unknown key %q: the standard has no such key here%s", key, suggest(key, m.keys))
	switch {
	case len(m.keys) > 0:
		msg += "; allowed keys: " + keyList(m.keys)
	default:
		msg += "; nothing may be set here"
	}
	if m.path == "" {
		var free []string
		for _, k := range m.keys {
			if e := m.fields[k]; e.m != nil && e.m.any {
				free = append(free, k)
			}
		}
		if len(free) > 0 {
			msg += fmt.Sprintf(". Settings no rule covers belong under %s (for whitelisted services)", strings.Join(free, " or "))
		}
	}
	v.add(child.KeyPos, path, RuleUnknownKey, msg)
}

func (v *validator) usn(n, child *values.Node, path, key string) {
	reg := v.in.Registry
	if reg == nil {
		if !v.warned {
			v.warned = true
			v.findings = append(v.findings, report.Finding{Pos: at(n), Region: v.in.Region, Path: path,
				Rule: RuleUSN, Severity: report.SeverityWarning,
				Message: "service names here are not checked against the service registry because none was given; pass --registry FILE|URL"})
		}
		return
	}
	if !reg.Has(key) {
		v.add(child.KeyPos, join(path, key), RuleUSN, fmt.Sprintf("%q is not a known service name (USN) in the registry %s%s; name the service exactly as it is registered",
			key, reg.Source, suggest(key, reg.Names())))
	}
}

func (v *validator) leaf(r *Rule, n *values.Node, path string) {
	switch n.Kind {
	case values.Null:
		if r.Required {
			v.add(n.Pos, path, RuleRequired, withDescription(custom(r, fmt.Sprintf("is empty but required; give it a value, e.g. %s", example(r))), r))
		}
	case values.Map:
		v.add(n.Pos, path, RuleType, withDescription(custom(r, fmt.Sprintf("must be a single value such as %s, not a mapping", example(r))), r))
	case values.List:
		if r.Type != "" {
			v.add(n.Pos, path, RuleType, withDescription(custom(r, fmt.Sprintf("must be a single value such as %s, not a list", example(r))), r))
			return
		}
		for i, it := range n.Items {
			p := path + "." + strconv.Itoa(i)
			if it.Kind != values.Scalar {
				v.add(it.Pos, p, RuleType, withDescription(custom(r, fmt.Sprintf("a list here may hold only single values such as %s, not %s", example(r), kindName(it))), r))
				continue
			}
			v.scalar(r, it, p)
		}
	default:
		v.scalar(r, n, path)
	}
}

func (v *validator) scalar(r *Rule, n *values.Node, path string) {
	if r.Secret && v.encryptSecrets && !n.Encrypted {
		v.plaintextSecret(n, path)
	}
	if n.Ciphertext {
		return // still encrypted (no identity): nothing about its value can be checked
	}
	if r.Type != "" && !tagFits(r.Type, n.Tag) {
		v.add(n.Pos, path, RuleType, withDescription(custom(r, typeMessage(r, n)), r))
		return
	}
	text := n.Value
	if n.Tag != "!!str" && (r.Dict != nil || r.pattern != nil || r.exclude != nil) {
		text = n.Text()
	}
	if r.Dict != nil && !contains(r.Dict, text) {
		v.add(n.Pos, path, RuleDict, withDescription(custom(r, fmt.Sprintf("%s is not allowed; use one of %s", show(r, n), strings.Join(r.Dict, ", "))), r))
	}
	if r.pattern != nil && !r.pattern.MatchString(text) {
		v.add(n.Pos, path, RulePattern, withDescription(custom(r, fmt.Sprintf("%s does not match the pattern %s (the whole value must match)", show(r, n), r.Pattern)), r))
	}
	if r.exclude != nil && r.exclude.MatchString(text) {
		msg := fmt.Sprintf("%s matches the forbidden pattern %s; use a value that does not", show(r, n), r.ExcludePattern)
		if r.Secret { // the pattern would narrow the secret down to a few values
			msg = fmt.Sprintf("the secret value matches the forbidden pattern of %s in the standard (weak or placeholder values); choose another value", r.Path)
		}
		v.add(n.Pos, path, RuleExcludePattern, withDescription(custom(r, msg), r))
	}
	if r.program != nil {
		v.expr(r, n, path)
	}
}

func (v *validator) expr(r *Rule, n *values.Node, path string) {
	env := exprEnv{Value: plainScalar(n), Path: path, Region: v.in.Region, USN: v.in.USN}
	if r.useValues {
		if v.plain == nil {
			v.plain, _ = v.root.Interface().(map[string]any)
		}
		env.Values = v.plain
	}
	out, err := v.vm.Run(r.program, env)
	switch {
	case err != nil:
		detail := ": " + oneLine(err)
		if r.Secret {
			detail = ""
		}
		v.add(n.Pos, path, RuleExpr, withDescription(custom(r, fmt.Sprintf("the check %s could not be evaluated for %s%s", r.Expr, show(r, n), detail)), r))
	case out != true:
		v.add(n.Pos, path, RuleExpr, withDescription(custom(r, fmt.Sprintf("%s fails the check %s", show(r, n), r.Expr)), r))
	}
}

// plainScalar is n.Interface() with a fast path for the common decimal ints and plain strings.
func plainScalar(n *values.Node) any {
	switch n.Tag {
	case "!!str":
		return n.Value
	case "!!int":
		if i, err := strconv.Atoi(n.Value); err == nil {
			return i
		}
	}
	return n.Interface()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// custom returns the leaf's own message when it has one, else the default.
func custom(r *Rule, def string) string {
	if r.Message != "" {
		return r.Message
	}
	return def
}

// withDescription appends what the value is, unless the leaf has its own message.
func withDescription(msg string, r *Rule) string {
	if r.Message != "" || r.Description == "" {
		return msg
	}
	return msg + ". " + strings.TrimSuffix(r.Description, ".") + "."
}

// show names a value in a message; a secret's value is never shown.
func show(r *Rule, n *values.Node) string {
	if r.Secret {
		return "the secret value"
	}
	return "the value " + literal(n)
}

func literal(n *values.Node) string {
	if n.Tag == "!!str" {
		return strconv.Quote(n.Value)
	}
	return n.Text()
}

func example(r *Rule) string {
	if len(r.Dict) > 0 {
		return r.Dict[0]
	}
	switch r.Type {
	case TypeInt:
		return "8080"
	case TypeFloat:
		return "0.5"
	case TypeBool:
		return "true"
	}
	return `"..."`
}

func article(s string) string {
	if strings.IndexByte("aeiou", s[0]) >= 0 {
		return "an " + s
	}
	return "a " + s
}

var typeNames = map[string]string{
	TypeString: "text (a string)",
	TypeInt:    "a whole number (int)",
	TypeFloat:  "a number (float)",
	TypeBool:   "true or false (bool)",
}

func typeMessage(r *Rule, n *values.Node) string {
	is := "the " + tagName(n.Tag) + " " + literal(n)
	if r.Secret {
		is = article(tagName(n.Tag))
	}
	if n.Tag == "!!str" {
		is = "the text " + strconv.Quote(n.Value)
		if r.Secret {
			is = "text"
		}
	}
	msg := fmt.Sprintf("must be %s such as %s, but is %s", typeNames[r.Type], example(r), is)
	switch {
	case r.Type == TypeString:
		msg += "; put the value in quotes to make it text"
	case n.Tag == "!!str" && r.Type != TypeString && quotedFits(r.Type, n.Value):
		msg += "; remove the quotes"
	}
	return msg
}

// quotedFits reports whether text written in quotes would have the right type without them.
func quotedFits(typ, text string) bool {
	switch typ {
	case TypeInt:
		_, err := strconv.ParseInt(text, 10, 64)
		return err == nil
	case TypeFloat:
		_, err := strconv.ParseFloat(text, 64)
		return err == nil
	case TypeBool:
		return text == "true" || text == "false"
	}
	return false
}

// plaintextSecret reports a secret stored in plain text while the standard has $encryptSecrets,
// with the command that encrypts it in place.
func (v *validator) plaintextSecret(n *values.Node, path string) {
	file := strings.TrimSuffix(n.Pos.File, filepath.Ext(n.Pos.File))
	leafPath := path
	if i := strings.LastIndexByte(path, '.'); i >= 0 && isIndex(path[i+1:]) {
		leafPath = path[:i] // a list item: the command sets the whole value
	}
	v.add(n.Pos, path, RuleSecretPlaintext, fmt.Sprintf("the secret value is stored in plain text, and the standard requires secrets encrypted ($encryptSecrets); "+
		"encrypt it in place with: cac secret set %s %s < value-file", file, leafPath))
}
