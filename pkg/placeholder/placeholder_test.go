package placeholder

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func lookupMap(m map[string]string) Lookup {
	return func(p string) (string, error) {
		v, ok := m[p]
		if !ok {
			return "", errors.New("no value at " + p)
		}
		return v, nil
	}
}

func TestRender(t *testing.T) {
	vals := map[string]string{"mysql.main.ip": "10.0.0.1", "port": "3306", "a-b.c_d.0": "x", "u": "ü"}
	tests := []struct{ name, in, want string }{
		{"angle", "host = \"^cac<<mysql.main.ip>>\"\n", "host = \"10.0.0.1\"\n"},
		{"brace seed syntax", "port: ^cac{{port}}", "port: 3306"},
		{"adjacent", "^cac<<port>>^cac<<port>>", "33063306"},
		{"crlf kept", "a=^cac<<port>>\r\nb=1\r\n", "a=3306\r\nb=1\r\n"},
		{"bom kept", "\xef\xbb\xbfa=^cac<<port>>", "\xef\xbb\xbfa=3306"},
		{"no final newline", "x ^cac<<u>>", "x ü"},
		{"segments with dash underscore digit", "^cac<<a-b.c_d.0>>", "x"},
		{"no placeholder", "plain\n", "plain\n"},
		{"caret alone is literal", "a ^ b ^ca", "a ^ b ^ca"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, probs := Parse([]byte(tc.in))
			if len(probs) > 0 {
				t.Fatalf("parse problems: %+v", probs)
			}
			got, probs := tpl.Render(lookupMap(vals))
			if len(probs) > 0 {
				t.Fatalf("render problems: %+v", probs)
			}
			if string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name, in  string
		line, col int
		rule, msg string
	}{
		{"not a placeholder", "x\n  ^cacfoo", 2, 3, "placeholder/malformed", `"^cac" must start a placeholder`},
		{"unterminated", "a: ^cac<<mysql.ip\nb: 1", 1, 4, "placeholder/unterminated", `close it with ">>"`},
		{"mismatched close", "^cac<<a.b}}", 1, 1, "placeholder/unterminated", "unterminated"},
		{"empty", "^cac<<>>", 1, 1, "placeholder/malformed", "the path is empty"},
		{"double dot", "^cac<<a..b>>", 1, 1, "placeholder/malformed", "empty path segment"},
		{"trailing dot", "^cac{{a.}}", 1, 1, "placeholder/malformed", "ends with a dot"},
		{"space", "^cac<< a >>", 1, 1, "placeholder/malformed", "spaces are not allowed"},
		{"bad char", "é ^cac<<a/b>>", 1, 3, "placeholder/malformed", `character '/'`},
		{"bom column", "\xef\xbb\xbf^cac<<a", 1, 1, "placeholder/unterminated", "unterminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := Parse([]byte(tc.in))
			if len(probs) != 1 {
				t.Fatalf("want 1 problem, got %+v", probs)
			}
			p := probs[0]
			if p.Line != tc.line || p.Col != tc.col || p.Rule != tc.rule || !strings.Contains(p.Message, tc.msg) {
				t.Fatalf("got %d:%d %s %q; want %d:%d %s containing %q", p.Line, p.Col, p.Rule, p.Message, tc.line, tc.col, tc.rule, tc.msg)
			}
		})
	}
}

func TestAllProblemsReported(t *testing.T) {
	src := "a=^cac<<x>>\nb=^cacx\nc=^cac<<y>>\nd=^cac<<z\n"
	tpl, probs := Parse([]byte(src))
	if len(probs) != 2 || probs[0].Line != 2 || probs[1].Line != 4 {
		t.Fatalf("parse problems: %+v", probs)
	}
	_, rprobs := tpl.Render(lookupMap(map[string]string{"y": "1"}))
	if len(rprobs) != 1 || rprobs[0].Path != "x" || rprobs[0].Line != 1 || rprobs[0].Col != 3 {
		t.Fatalf("render problems: %+v", rprobs)
	}
	if len(tpl.Placeholders) != 2 {
		t.Fatalf("placeholders: %+v", tpl.Placeholders)
	}
}

// FuzzParse checks that parsing never panics, that placeholders lie inside the source in order,
// and that rendering each placeholder as itself reproduces the source byte for byte.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "^cac<<a.b>>", "x^cac{{a}}y\r\n", "^cac", "^cac<<", "^cac<<a.b", "\xef\xbb\xbf^cac<<é>>", "^cac^cac<<a>>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		tpl, probs := Parse(src)
		last := 0
		for _, ph := range tpl.Placeholders {
			if ph.Start < last || ph.End > len(src) || ph.Start >= ph.End || ph.Line < 1 || ph.Col < 1 {
				t.Fatalf("bad placeholder %+v in %q", ph, src)
			}
			last = ph.End
		}
		for _, p := range probs {
			if p.Line < 1 || p.Col < 1 || p.Message == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
		i := 0
		out, rp := tpl.Render(func(p string) (string, error) {
			ph := tpl.Placeholders[i]
			i++
			return string(src[ph.Start:ph.End]), nil
		})
		if len(rp) != 0 || !bytes.Equal(out, src) {
			t.Fatalf("identity render changed the source: %q -> %q", src, out)
		}
	})
}

func BenchmarkParseRender(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 200; i++ {
		sb.WriteString("[section]\nhost = \"^cac<<mysql.main.ip>>\"\nport = ^cac<<mysql.main.port>>\nname = \"literal value that stays\"\n")
	}
	src := []byte(sb.String())
	vals := lookupMap(map[string]string{"mysql.main.ip": "10.0.0.1", "mysql.main.port": "3306"})
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		tpl, _ := Parse(src)
		tpl.Render(vals)
	}
}
