package migrate

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/values"
)

// regionDoc is one region's values file in the config repo, edited as a yaml.v3 tree so existing
// content and comments survive.
type regionDoc struct {
	region  string
	rel     string // path in the config repo, forward slashes
	abs     string
	orig    []byte // nil when the file is new
	doc     *yaml.Node
	changed bool
}

func newRegionDoc(region, rel, abs string, data []byte, exists bool) (*regionDoc, error) {
	d := &regionDoc{region: region, rel: rel, abs: abs}
	if exists {
		d.orig = data
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("read %s: %w", rel, err)
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			root := doc.Content[0]
			switch {
			case root.Kind == yaml.MappingNode:
				d.doc = &doc
			case root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null":
				doc.Content[0] = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				d.doc = &doc
			default:
				return nil, fmt.Errorf("%s: the top level must be a mapping of keys to values", rel)
			}
		}
	}
	if d.doc == nil {
		d.doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	return d, nil
}

type slot int

const (
	slotFree  slot = iota // nothing there (or null): the value can be set
	slotEqual             // the same value is already there
	slotTaken             // another value, a mapping or list, or a scalar on the way
)

// lookup tells whether path can hold want.
func (d *regionDoc) lookup(path, want string) slot {
	n := d.doc.Content[0]
	for _, seg := range strings.Split(path, ".") {
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return slotFree
		}
		if n.Kind != yaml.MappingNode {
			return slotTaken
		}
		next := mapValue(n, seg)
		if next == nil {
			return slotFree
		}
		n = next
	}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return slotFree
	case n.Kind == yaml.ScalarNode:
		v := values.Node{Kind: values.Scalar, Tag: n.ShortTag(), Value: n.Value}
		if v.Text() == want {
			return slotEqual
		}
	}
	return slotTaken
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// set stores v at path (lookup said slotFree), creating mappings on the way.
func (d *regionDoc) set(path string, v *yaml.Node) {
	n := d.doc.Content[0]
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		next := mapValue(n, seg)
		if i == len(segs)-1 {
			if next != nil {
				*next = *v
			} else {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}, v)
			}
			break
		}
		if next == nil || next.Kind == yaml.ScalarNode {
			m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if next != nil {
				*next = *m
				m = next
			} else {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}, m)
			}
			next = m
		}
		n = next
	}
	d.changed = true
}

// bytes is the file's new content (the original when nothing changed).
func (d *regionDoc) bytes() ([]byte, error) {
	if !d.changed && d.orig != nil {
		return d.orig, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(d.doc); err != nil {
		return nil, fmt.Errorf("write %s: %w", d.rel, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", d.rel, err)
	}
	return buf.Bytes(), nil
}

var (
	intForm   = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)
	floatForm = regexp.MustCompile(`^-?(0|[1-9][0-9]*)\.[0-9]*[1-9]$`)
)

// scalarFor encodes s so that values.Parse(...).Text() gives s back exactly: numbers and booleans
// plain when their text is already canonical, everything else a string, double-quoted when it has
// spaces at its ends, control characters or line breaks.
func scalarFor(s string) (*yaml.Node, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("the value is not valid UTF-8 text and cannot be stored in YAML")
	}
	switch {
	case intForm.MatchString(s):
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: s}, nil
	case s == "true" || s == "false":
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: s}, nil
	case floatForm.MatchString(s):
		if f, err := strconv.ParseFloat(s, 64); err == nil && strconv.FormatFloat(f, 'f', -1, 64) == s {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: s}, nil
		}
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if !plainSafe(s) {
		n.Style = yaml.DoubleQuotedStyle
	}
	if roundTrips(n, s) {
		return n, nil
	}
	n.Style = yaml.DoubleQuotedStyle
	if roundTrips(n, s) {
		return n, nil
	}
	return nil, fmt.Errorf("the value cannot be written to YAML so that it reads back unchanged")
}

func plainSafe(s string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' || !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

func roundTrips(n *yaml.Node, want string) bool {
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "k"}, n}}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return false
	}
	v, probs := values.Parse("check.yaml", out)
	if len(probs) > 0 {
		return false
	}
	got, _, err := v.Leaf("k")
	return err == nil && got == want
}
