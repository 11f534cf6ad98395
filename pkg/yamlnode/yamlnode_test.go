package yamlnode

import (
	"errors"
	"testing"

	"gopkg.in/yaml.v3"
)

func parse(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var d yaml.Node
	if err := yaml.Unmarshal([]byte(text), &d); err != nil {
		t.Fatal(err)
	}
	return d.Content[0]
}

func marshal(t *testing.T, n *yaml.Node) string {
	t.Helper()
	b, err := Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFieldAndGet(t *testing.T) {
	top := parse(t, "db:\n  port: 3306\n  host: x\nname: a\n")
	if got := Get(top, "db.port"); got == nil || got.Value != "3306" {
		t.Fatalf("Get(db.port) = %v", got)
	}
	for _, p := range []string{"db.user", "name.sub", "nope"} {
		if got := Get(top, p); got != nil {
			t.Errorf("Get(%s) = %v, want nil", p, got.Value)
		}
	}
	if Field(nil, "a") != nil || Field(Str("a"), "a") != nil {
		t.Error("Field of nil or a scalar must be nil")
	}
}

func TestSet(t *testing.T) {
	top := parse(t, "a: 1 # goes with the old value\nb: text\n")
	Set(top, "a", Str("2"))
	Set(top, "b.c.d", Encode(true))
	Set(top, "e.f", Encode(7))
	want := "a: \"2\"\nb:\n  c:\n    d: true\ne:\n  f: 7\n"
	if got := marshal(t, top); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRemove(t *testing.T) {
	top := parse(t, "a:\n  b:\n    c: 1\nd:\n  e: 1\n  f: 2\n")
	if !Remove(top, "a.b.c") {
		t.Fatal("Remove(a.b.c) = false")
	}
	if !Remove(top, "d.e") {
		t.Fatal("Remove(d.e) = false")
	}
	if Remove(top, "d.x") || Remove(top, "d.f.g") || Remove(top, "z") {
		t.Fatal("Remove of a missing key reported true")
	}
	if got, want := marshal(t, top), "d:\n  f: 2\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestParseScalar(t *testing.T) {
	for _, c := range []struct{ in, tag, value string }{
		{"3306", "!!int", "3306"},
		{"true", "!!bool", "true"},
		{"hello", "!!str", "hello"},
		{"", "!!str", ""},
		{"null", "!!str", "null"},
		{"[a, b]", "!!str", "[a, b]"},
		{"a: b", "!!str", "a: b"},
	} {
		n := ParseScalar(c.in)
		if n.Kind != yaml.ScalarNode || n.Tag != c.tag || n.Value != c.value {
			t.Errorf("ParseScalar(%q) = %v %s %q, want %s %q", c.in, n.Kind, n.Tag, n.Value, c.tag, c.value)
		}
	}
}

type failing struct{ s string }

func (f failing) MarshalYAML() (any, error) { return nil, errors.New("no") }
func (f failing) String() string            { return f.s }

func TestEncodeFallsBackToText(t *testing.T) {
	n := Encode(failing{"as text"})
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || n.Value != "as text" {
		t.Errorf("Encode(failing) = %v %s %q, want the string scalar %q", n.Kind, n.Tag, n.Value, "as text")
	}
}

func TestOrderedMapAndMarshal(t *testing.T) {
	m := OrderedMap("z", "one\ntwo", "a", []any{"x", Str("y")}, "n", 3, "node", OrderedMap("k", "v"))
	want := "z: |-\n  one\n  two\na:\n  - x\n  - y\nn: 3\nnode:\n  k: v\n"
	if got := marshal(t, m); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	b, err := MarshalIndent(4, OrderedMap("a", OrderedMap("b", "c")), map[string]int{"d": 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "a:\n    b: c\n---\nd: 1\n"; got != want {
		t.Errorf("MarshalIndent got\n%s\nwant\n%s", got, want)
	}
}
