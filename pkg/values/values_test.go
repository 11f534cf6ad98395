package values

import (
	"strings"
	"testing"
	"testing/fstest"
)

func mustParse(t *testing.T, file, src string) *Node {
	t.Helper()
	n, probs := Parse(file, []byte(src))
	if len(probs) > 0 {
		t.Fatalf("parse %s: %v", file, probs)
	}
	return n
}

func TestTextForms(t *testing.T) {
	n := mustParse(t, "r.yaml", "s: ' x '\ni: 0x1F\nu: 1_000\nf: 1.50\ne: 1e3\nb: True\nq: \"007\"\nneg: -0\n")
	for path, want := range map[string]string{"s": " x ", "i": "31", "u": "1000", "f": "1.5", "e": "1000", "b": "true", "q": "007", "neg": "0"} {
		got, _, err := n.Leaf(path)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
}

func TestPositionsAndMerge(t *testing.T) {
	global := mustParse(t, "_global/sg.yaml", "env:\n  physical: online\n  group: g1\nkafka:\n  brokers: [a, b]\n")
	svc := mustParse(t, "user/sg.yaml", "env:\n  group: g2\nkafka:\n  brokers: [c]\nport: 80\n")
	m := Merge(global, svc)
	cases := []struct {
		path, want, file string
		line, col        int
	}{
		{"env.physical", "online", "_global/sg.yaml", 2, 13},
		{"env.group", "g2", "user/sg.yaml", 2, 10},
		{"kafka.brokers.0", "c", "user/sg.yaml", 4, 13},
		{"port", "80", "user/sg.yaml", 5, 7},
	}
	for _, c := range cases {
		v, n, err := m.Leaf(c.path)
		if err != nil || v != c.want || n.Pos.File != c.file || n.Pos.Line != c.line || n.Pos.Col != c.col {
			t.Errorf("%s = %q at %v (%v); want %q at %s:%d:%d", c.path, v, n.Pos, err, c.want, c.file, c.line, c.col)
		}
	}
	if _, _, err := m.Leaf("kafka.brokers.1"); err == nil {
		t.Error("lists must replace, not merge: brokers.1 should be gone")
	}
	if got, _, _ := global.Leaf("env.group"); got != "g1" {
		t.Errorf("merge modified its input: %q", got)
	}
	if m.Field("env").KeyPos.Line != 1 {
		t.Errorf("key position lost: %+v", m.Field("env").KeyPos)
	}
}

func TestLookupErrors(t *testing.T) {
	n := mustParse(t, "r.yaml", "mysql:\n  main:\n    ip: 1.2.3.4\nlist: [1]\nnothing: ~\n")
	cases := []struct{ path, rule, msg string }{
		{"mysql.main.port", "placeholder/unresolved", `mysql.main has no key "port" (it has ip)`},
		{"mysql.main", "placeholder/not-leaf", "is a mapping, not a single value; a placeholder must name a leaf such as mysql.main.ip"},
		{"list.3", "placeholder/unresolved", "list is a list of 1 items"},
		{"mysql.main.ip.x", "placeholder/unresolved", "is a single value"},
		{"nothing", "placeholder/not-leaf", "is a null"},
		{"redis.x", "placeholder/unresolved", `the values has no key "redis"`},
	}
	for _, c := range cases {
		_, _, err := n.Leaf(c.path)
		le, ok := err.(*LookupError)
		if !ok || le.Rule != c.rule || !strings.Contains(le.Message, c.msg) {
			t.Errorf("%s: got %v; want %s containing %q", c.path, err, c.rule, c.msg)
		}
	}
}

func TestParseProblems(t *testing.T) {
	cases := []struct {
		name, src, rule string
		line            int
		msg             string
	}{
		{"syntax", "a: 1\nb: [\n", "yaml/syntax", 2, "invalid YAML"},
		{"duplicate", "a: 1\na: 2\n", "yaml/duplicate-key", 2, `"a" is already defined at line 1`},
		{"top level list", "- a\n", "yaml/structure", 1, "must be a mapping"},
		{"invalid utf8", "a: 1\nb: \xff\n", "yaml/encoding", 2, "not valid UTF-8"},
	}
	for _, c := range cases {
		_, probs := Parse("x.yaml", []byte(c.src))
		if len(probs) != 1 || probs[0].Rule != c.rule || probs[0].Line != c.line || !strings.Contains(probs[0].Message, c.msg) {
			t.Errorf("%s: got %+v", c.name, probs)
		}
	}
	n := mustParse(t, "e.yaml", "")
	if n.Kind != Map {
		t.Errorf("empty file should be an empty mapping, got %v", n.Kind)
	}
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70)
	if _, probs := Parse("d.yaml", []byte("k: "+deep)); len(probs) == 0 || probs[0].Rule != "yaml/structure" {
		t.Errorf("deep nesting: %+v", probs)
	}
}

func TestAliasBomb(t *testing.T) {
	src := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		src += name + ": &" + name + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", ") + "]\n"
		prev = name
	}
	if _, probs := Parse("bomb.yaml", []byte(src)); len(probs) == 0 || !strings.Contains(probs[0].Message, "expands to more than") {
		t.Fatalf("alias bomb not bounded: %v", probs)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	n := mustParse(t, "a.yaml", "base: &b\n  port: 1\n  host: h\nsvc:\n  <<: *b\n  port: 2\n")
	if v, _, _ := n.Leaf("svc.port"); v != "2" {
		t.Errorf("explicit key must win over merge: %q", v)
	}
	if v, _, _ := n.Leaf("svc.host"); v != "h" {
		t.Errorf("merged key missing: %q", v)
	}
}

func TestLayout(t *testing.T) {
	fsys := fstest.MapFS{
		"_global/sg.yaml":  {Data: []byte("env:\n  physical: online\n")},
		"user/sg.yaml":     {Data: []byte("port: 1\n")},
		"user/us.yml":      {Data: []byte("port: 2\n")},
		"user/_draft.yaml": {Data: []byte("x: 1\n")},
		"user/notes.md":    {Data: []byte("hi")},
		"_regions.yaml":    {Data: []byte("{}")},
	}
	regions, err := Regions(fsys, "user")
	if err != nil || strings.Join(regions, ",") != "sg,us" {
		t.Fatalf("regions = %v, %v", regions, err)
	}
	v, probs, err := Load(fsys, "user", "sg")
	if err != nil || len(probs) > 0 {
		t.Fatal(err, probs)
	}
	if p, _, _ := v.Leaf("env.physical"); p != "online" {
		t.Errorf("global layer missing: %q", p)
	}
	if _, err := Regions(fsys, "cart"); err == nil || !strings.Contains(err.Error(), "--usn") {
		t.Errorf("missing service dir: %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"user": true, "sg-prod": true, "us_east.1": true, "A9": true,
		"": false, "..": false, ".": false, "../..": false, "a/b": false, "a..b": false, "/etc": false,
		"_global": false, ".git": false, "a b": false, "a\x00": false, "é": false, `a\b`: false,
	} {
		if err := CheckName("--usn", name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
