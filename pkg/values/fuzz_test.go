package values

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzParse feeds two region files to the loader. It checks that Parse never panics, that every
// node and every finding has a position (line and column ≥ 1, in the right file), that mappings
// keep Keys and Fields in step, and these properties of Merge:
//   - identity: Merge(a) = Merge(empty, a) = Merge(a, empty) = a
//   - idempotence: Merge(a, a) = a
//   - left fold: Merge(a, b, a) = Merge(Merge(a, b), a)
//   - later wins: every leaf of b is in Merge(a, b) with b's value and position
//   - the earlier layer survives: a leaf of a is in Merge(a, b) unless b has a value at its path
//     or at a prefix of it
//   - inputs are not modified.
//
// Merge is not associative in general (a mapping replaced by a scalar and then merged with a
// mapping again loses the first mapping's keys), so only the left fold is asserted.
func FuzzParse(f *testing.F) {
	seeds := [][2]string{
		{"", ""},
		{"a: 1\n", "b: 2\n"},
		{"env:\n  physical: online\n  group: g1\nkafka:\n  brokers: [a, b]\n", "env:\n  group: g2\nkafka:\n  brokers: [c]\nport: 80\n"},
		{"k: {x: 1}\n", "k: 5\n"},
		{"a: &x {p: 1}\nb: *x\nc:\n  <<: *x\n  p: 2\n", "a: {q: 3}\n"},
		{"a: 1\na: 2\n", "- 1\n"},
		{"\xef\xbb\xbfa: 1\r\nb: [1,\r\n 2]\r\n", "a: \xff\n"},
		{"a: !!binary aGVsbG8=\nb: 0x1F\nc: 1_000\nd: .inf\n", "a:\n\tb: 1\n"},
		{"a: &a [*a]\n", "x: [[[[[[[[[[1]]]]]]]]]]\n"},
		{"a: &a [1,1,1]\nb: &b [*a,*a,*a]\nc: &c [*b,*b,*b]\nd: [*c,*c,*c]\n", "? [1]\n: 2\n"},
		{"secret: s3cr3t\n---\nb: 2\n", "'quoted key': \"v\"\n"},
	}
	for _, s := range seeds {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		na := checkParse(t, "a.yaml", a)
		nb := checkParse(t, "b.yaml", b)
		if na == nil || nb == nil {
			return
		}
		da, db := dump(na), dump(nb)
		empty := &Node{Kind: Map, Fields: map[string]*Node{}}
		for name, got := range map[string]*Node{"Merge(a)": Merge(na), "Merge(empty, a)": Merge(empty, na), "Merge(a, empty)": Merge(na, empty), "Merge(a, a)": Merge(na, na)} {
			if d := dump(got); d != da {
				t.Fatalf("%s changed a:\n%s\nwant\n%s", name, d, da)
			}
		}
		m := Merge(na, nb)
		if l, r := dump(Merge(na, nb, na)), dump(Merge(m, na)); l != r {
			t.Fatalf("Merge(a, b, a) is not Merge(Merge(a, b), a):\n%s\n%s", l, r)
		}
		leaves(nb, "", func(p string, v *Node) {
			got := at(m, p)
			if got != v {
				t.Fatalf("leaf %s of b is %v in Merge(a, b), want b's %v", p, got, v)
			}
		})
		leaves(na, "", func(p string, v *Node) {
			if shadowed(nb, p) {
				return
			}
			if got := at(m, p); got != v {
				t.Fatalf("leaf %s of a is lost in Merge(a, b): %v", p, got)
			}
		})
		if dump(na) != da || dump(nb) != db {
			t.Fatal("Merge modified its inputs")
		}
	})
}

// checkParse parses data and checks positions and the shape of the tree.
func checkParse(t *testing.T, file string, data []byte) *Node {
	n, probs := Parse(file, data)
	for _, p := range probs {
		if p.Pos.File != file || p.Pos.Line < 1 || p.Message == "" || p.Rule == "" {
			t.Fatalf("finding without a position, rule or message: %+v", p)
		}
	}
	if n == nil {
		if len(probs) == 0 {
			t.Fatal("no tree and no finding")
		}
		return nil
	}
	if n.Kind != Map {
		t.Fatalf("top level is a %s", n.Kind)
	}
	var check func(n *Node)
	check = func(n *Node) {
		if n.Pos.File != file || n.Pos.Line < 1 || n.Pos.Col < 1 {
			t.Fatalf("node without a position: %+v", n.Pos)
		}
		switch n.Kind {
		case Map:
			if len(n.Keys) != len(n.Fields) {
				t.Fatalf("%d keys, %d fields", len(n.Keys), len(n.Fields))
			}
			for _, k := range n.Keys {
				c := n.Fields[k]
				if c == nil {
					t.Fatalf("key %q has no field", k)
				}
				check(c)
			}
		case List:
			for _, it := range n.Items {
				check(it)
			}
		}
	}
	check(n)
	return n
}

// dump is a canonical text of a tree: kinds, tags, values, key order and positions (but the root's:
// a merged root takes the position of the last layer, an empty mapping has none).
func dump(n *Node) string {
	var sb strings.Builder
	var rec func(n *Node, indent string)
	rec = func(n *Node, indent string) {
		if indent == "" {
			fmt.Fprintf(&sb, "%s\n", n.Kind)
		} else {
			fmt.Fprintf(&sb, "%s%s %s %q @%s:%d:%d\n", indent, n.Kind, n.Tag, n.Value, n.Pos.File, n.Pos.Line, n.Pos.Col)
		}
		for _, k := range n.Keys {
			fmt.Fprintf(&sb, "%s %q:\n", indent, k)
			rec(n.Fields[k], indent+"  ")
		}
		for _, it := range n.Items {
			rec(it, indent+"  ")
		}
	}
	rec(n, "")
	return sb.String()
}

// leaves calls fn for every non-mapping node below n, with its path as a list of keys joined by NUL
// (keys may contain dots).
func leaves(n *Node, path string, fn func(string, *Node)) {
	for _, k := range n.Keys {
		c := n.Fields[k]
		p := path + "\x00" + k
		if c.Kind == Map {
			leaves(c, p, fn)
			continue
		}
		fn(p, c)
	}
}

// at returns the node at a NUL-joined key path, or nil.
func at(n *Node, path string) *Node {
	for _, k := range strings.Split(path, "\x00")[1:] {
		if n == nil || n.Kind != Map {
			return nil
		}
		n = n.Fields[k]
	}
	return n
}

// shadowed reports whether b has a value at path or a non-mapping at a prefix of it.
func shadowed(b *Node, path string) bool {
	n := b
	for _, k := range strings.Split(path, "\x00")[1:] {
		if n.Kind != Map {
			return true
		}
		n = n.Fields[k]
		if n == nil {
			return false
		}
	}
	return true
}
