// Package standard is the rules engine of docs/design.md §3: it loads a standard (a YAML tree that mirrors
// the values tree, with rules on its leaves), checks a region's effective values against it, and
// describes it as a JSON Schema for editors.
//
// A mapping of the standard is a leaf when it is empty or none of its values is a mapping (then every
// key must be a leaf attribute: type, required, dict, pattern, excludePattern, expr, message, secret,
// delivery, generator, description); otherwise it is a mapping rule whose keys are value keys, "*"
// (any tag name) or the attributes $mustAll, $atLeastOne, $key, $whitelist, $any, $description.
//
// pattern and excludePattern are Go regular expressions matched against the whole value: they are
// anchored as ^(?:pattern)$, so write .*x.* to mean "contains x". expr is an expr-lang expression,
// compiled once at load, that must return a bool; it sees value, path, region, usn, values (the whole
// effective tree as plain Go values) and the helpers isIP, isDomain, isURL and isPort.
//
// Keys the standard does not name are findings (unknown-key), except below a mapping with $any: true.
// A secret's value never appears in a finding.
package standard

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm"

	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

// Type names of a leaf's `type` attribute.
const (
	TypeString = "string"
	TypeInt    = "int"
	TypeFloat  = "float"
	TypeBool   = "bool"
)

// Delivery modes of a leaf (how a new region gets its value, docs/design.md §6).
const (
	DeliveryAuto   = "auto"
	DeliveryCopy   = "copy"
	DeliveryManual = "manual"
)

// Rule ids of findings.
const (
	RuleType           = "type"
	RuleRequired       = "required"
	RuleMustAll        = "mustAll"
	RuleAtLeastOne     = "atLeastOne"
	RuleDict           = "dict"
	RulePattern        = "pattern"
	RuleExcludePattern = "excludePattern"
	RuleExpr           = "expr"
	RuleUSN            = "usn"
	RuleWhitelist      = "whitelist"
	RuleUnknownKey     = "unknown-key"
	// RuleSecretPlaintext: with $encryptSecrets, a secret value stored in plain text.
	RuleSecretPlaintext = "secret/plaintext"
)

// Rule is a leaf of the standard: the checks for one value.
type Rule struct {
	Path           string     // dotted path in the standard, "*" for any tag name: mysql.*.port
	Pos            report.Pos // where the leaf is written in the standard
	Type           string     // string|int|float|bool, or "" for any scalar
	Required       bool
	Dict           []string // allowed values, as text
	Pattern        string   // Go regexp the whole value must match
	ExcludePattern string   // Go regexp the whole value must not match
	Expr           string   // expr-lang expression returning bool
	Message        string   // replaces the default message of every finding of this leaf
	Secret         bool
	Delivery       string // auto|copy|manual, or ""
	Generator      string // expr-lang expression for delivery auto (compiled at load, evaluated by region building)
	Description    string

	dictTag   string // YAML tag shared by the dict values
	pattern   *regexp.Regexp
	exclude   *regexp.Regexp
	program   *vm.Program
	useValues bool        // the expression reads `values`: build the plain tree only then
	generator *vm.Program // the compiled Generator
}

// mapRule is a mapping of the standard.
type mapRule struct {
	path        string
	pos         report.Pos
	keys        []string // explicit keys, in order
	fields      map[string]*entry
	star        *entry // "*": any tag name
	mustAll     []string
	atLeastOne  []string
	keyUSN      bool
	any         bool // $any: keys not named are accepted unchecked
	whitelist   *whitelist
	description string
}

// entry is one child of a mapping rule: a leaf or a nested mapping.
type entry struct {
	leaf *Rule
	m    *mapRule
}

func (e *entry) description() string {
	if e.leaf != nil {
		return e.leaf.Description
	}
	return e.m.description
}

type whitelist struct {
	file string // as written in the standard
	usns map[string]bool
}

// Standard is a loaded, checked standard. It is safe for concurrent use.
type Standard struct {
	Name string // display name used in messages, e.g. rules/standard.yaml
	root *mapRule
	// encryptSecrets ($encryptSecrets: true at the top level): a secret value stored in plain text
	// in a region file is a finding (RuleSecretPlaintext).
	encryptSecrets bool
}

// Walk calls fn for every leaf rule, in the standard's order, until fn returns false.
func (s *Standard) Walk(fn func(r *Rule) bool) {
	walkRules(s.root, fn)
}

func walkRules(m *mapRule, fn func(*Rule) bool) bool {
	visit := func(e *entry) bool {
		if e.leaf != nil {
			return fn(e.leaf)
		}
		return walkRules(e.m, fn)
	}
	for _, k := range m.keys {
		if !visit(m.fields[k]) {
			return false
		}
	}
	if m.star != nil {
		return visit(m.star)
	}
	return true
}

// Leaf returns the rule for a concrete value path (mysql.main.port), resolving "*" to the tag name
// given; list indexes below a leaf name the leaf. It returns nil when no leaf rule covers the path.
func (s *Standard) Leaf(path string) *Rule {
	m := s.root
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		e := m.child(seg)
		if e == nil {
			return nil
		}
		if e.leaf != nil {
			for _, rest := range segs[i+1:] {
				if !isIndex(rest) {
					return nil
				}
			}
			return e.leaf
		}
		m = e.m
	}
	return nil
}

func (m *mapRule) child(key string) *entry {
	if e, ok := m.fields[key]; ok {
		return e
	}
	return m.star
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Problem is one error in the standard itself.
type Problem struct {
	Pos     report.Pos
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s", p.Pos, p.Message) }

// Error lists every problem found in a standard. Load returns it wrapped as a usage error (exit 2).
type Error struct {
	Name     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the standard %s has %d problem(s):", e.Name, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// LoadOptions say where files named by the standard (`$whitelist`) are read from.
type LoadOptions struct {
	// ReadFile reads a path relative to the standard's own directory (forward slashes).
	// Nil: a `$whitelist` is an error. FSReader adapts an fs.FS.
	ReadFile func(path string) ([]byte, error)
}

// FSReader reads files from fsys, for LoadOptions.ReadFile.
func FSReader(fsys fs.FS) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) { return fs.ReadFile(fsys, name) }
}

// SecretValue is a value found at a secret leaf.
type SecretValue struct {
	Path  string // dotted value path, e.g. mysql.main.password
	Value string // as inserted into templates (values.Node.Text)
}

// Secrets lists every value of v at a secret leaf (list items one by one), and every value stored
// SOPS-encrypted wherever it is (an encrypted value is secret by definition), in the values'
// order, for masking in diffs, comments and GitOps commits.
func (s *Standard) Secrets(v *values.Node) []SecretValue {
	var out []SecretValue
	if v != nil {
		collectSecrets(s.root, v, "", &out)
	}
	return out
}

func collectSecrets(m *mapRule, n *values.Node, path string, out *[]SecretValue) {
	if n.Kind != values.Map {
		encryptedValues(n, path, out)
		return
	}
	for _, k := range n.Keys {
		e, child, p := m.child(k), n.Fields[k], join(path, k)
		switch {
		case e == nil, e.leaf != nil && !e.leaf.Secret:
			encryptedValues(child, p, out)
		case e.m != nil:
			collectSecrets(e.m, child, p, out)
		case child.Kind == values.Scalar:
			*out = append(*out, SecretValue{Path: p, Value: child.Text()})
		case child.Kind == values.List:
			for i, it := range child.Items {
				if it.Kind == values.Scalar {
					*out = append(*out, SecretValue{Path: p + "." + strconv.Itoa(i), Value: it.Text()})
				}
			}
		}
	}
}

// encryptedValues adds the values at or below n that were stored encrypted.
func encryptedValues(n *values.Node, path string, out *[]SecretValue) {
	if n.Kind == values.Scalar && n.Encrypted {
		*out = append(*out, SecretValue{Path: path, Value: n.Text()})
		return
	}
	n.Walk(func(p string, v *values.Node) bool {
		if v.Kind == values.Scalar && v.Encrypted {
			*out = append(*out, SecretValue{Path: join(path, p), Value: v.Text()})
		}
		return true
	})
}
