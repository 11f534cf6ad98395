package migrate

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cacproj/cac/pkg/placeholder"
	"github.com/cacproj/cac/pkg/values"
)

var fuzzFormats = []Format{FormatYAML, FormatJSON, FormatTOML, FormatINI, FormatProperties, FormatText}

// fuzzVariants derives three region variants from the fuzz input: base with every @ replaced by a
// per-region value; mode bits drop a line from the third variant, or replace it by alt entirely.
func fuzzVariants(base, v1, v2, alt string, mode uint8) []*variant {
	texts := []string{
		strings.ReplaceAll(base, "@", "x"),
		strings.ReplaceAll(base, "@", v1),
		strings.ReplaceAll(base, "@", v2),
	}
	switch mode & 3 {
	case 1:
		lines := strings.SplitAfter(texts[2], "\n")
		i := int(mode>>2) % len(lines)
		texts[2] = strings.Join(append(lines[:i:i], lines[i+1:]...), "")
	case 2:
		texts[2] = alt
	}
	regions := []string{"eu", "sg", "us"}
	vs := make([]*variant, 3)
	for i, t := range texts {
		vs[i] = &variant{region: regions[i], file: "app." + regions[i], data: []byte(t)}
	}
	return vs
}

// FuzzImportRoundTrip imports generated variants in memory and renders them back: every result the
// verifier lets through must reproduce each variant byte for byte; valid UTF-8 input must import.
func FuzzImportRoundTrip(f *testing.F) {
	seeds := []struct {
		base, v1, v2, alt string
		mode              uint8
	}{
		{"[mysql]\nhost = \"@\"\nport = 3306\n", "10.0.0.2", "10.0.0.3", "", 0},
		{"db:\n  host: @\n  port: 33@6 # c\nlist: [a, @]\n", "007", "true", "", 1},
		{"{\"a\": \"@\", \"n\": @}", "1.0", "0x1F", "{}", 2},
		{"\xef\xbb\xbfkey=@\r\nother: @ \r\nlast=1", " lead", "trail ", "", 5},
		{"server_name @;\nlisten 80;\n", "a: b", "#x", "listen 81;\n", 2},
		{"^cac<<a>> @\n", "^cac{{b}}", "", "", 0},
		{"a = '@'\nb = \"\"\"\n@\n\"\"\"\n", "it''s", "\\\"q", "", 9},
		{"[s]\nk = \"@\"\n", "ünï\tcode", "\u2028", "", 0},
	}
	for _, s := range seeds {
		f.Add(s.base, s.v1, s.v2, s.alt, s.mode)
	}
	f.Fuzz(func(t *testing.T, base, v1, v2, alt string, mode uint8) {
		if len(base)+len(v1)+len(v2)+len(alt) > 4096 {
			return
		}
		vs := fuzzVariants(base, v1, v2, alt, mode)
		format := fuzzFormats[int(mode>>4)%len(fuzzFormats)]
		docs := make([]*regionDoc, len(vs))
		for i, v := range vs {
			d, err := newRegionDoc(v.region, "svc/"+v.region+".yaml", "/cfg/svc/"+v.region+".yaml", nil, false)
			if err != nil {
				t.Fatal(err)
			}
			docs[i] = d
		}
		c, err := compute(vs, format, namer{root: DefaultRoot}, docs, make([]*values.Node, len(vs)))
		if err != nil {
			for _, v := range vs {
				if !utf8.Valid(v.data) {
					return // bytes YAML cannot hold: refusing is the right answer
				}
			}
			t.Fatalf("valid UTF-8 input refused: %v", err)
		}
		if c.template == nil {
			for _, v := range vs[1:] {
				if !bytes.Equal(v.data, vs[0].data) {
					t.Fatalf("variants differ but no template was made")
				}
			}
			return
		}
		// Oracle independent of verify: parse the written files and render as cac build does.
		tmpl, probs := placeholder.Parse(c.template)
		if len(probs) > 0 {
			t.Fatalf("template does not parse: %v", probs)
		}
		for k, v := range vs {
			data, ok := c.files[docs[k].abs]
			if !ok {
				t.Fatalf("no region file for %s", v.region)
			}
			n, finds := values.Parse(docs[k].rel, data)
			if len(finds) > 0 {
				t.Fatalf("region file %s: %v\n%s", v.region, finds, data)
			}
			got, probs := tmpl.Render(func(p string) (string, error) {
				s, _, err := n.Leaf(p)
				return s, err
			})
			if len(probs) > 0 || !bytes.Equal(got, v.data) {
				t.Fatalf("region %s not reproduced (%v):\n%q\nwant\n%q", v.region, probs, got, v.data)
			}
		}
	})
}
