package migrate

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/values"
)

func TestDerive(t *testing.T) {
	nm := namer{root: "extend", maps: map[string]string{"extend.queue": "mq.main", "spring.datasource.url": "mysql.main.url"}}
	cases := []struct {
		segs   []string
		prefix string
		want   string
	}{
		{[]string{"mysql", "host"}, "", "mysql.main.ip"},
		{[]string{"mysql", "replica", "port"}, "", "mysql.replica.port"},
		{[]string{"database", "host"}, "", "mysql.main.ip"},
		{[]string{"orders_db", "hostname"}, "", "mysql.orders.ip"},
		{[]string{"spring", "redis", "host"}, "", "redis.main.ip"},
		{[]string{"REDIS_CACHE_HOST"}, "env", "redis.cache.ip"},
		{[]string{"DB_PORT"}, "env", "mysql.main.port"},
		{[]string{"server", "port"}, "", "extend.server.port"},
		{[]string{"server_name"}, "nginx", "extend.nginx.server_name"},
		{[]string{"spring", "datasource", "username"}, "", "mysql.main.username"},
		{[]string{"db", "name"}, "", "mysql.main.database"},
		{[]string{"redis", "name"}, "", "extend.redis.name"},
		{[]string{"container", "name"}, "", "extend.container.name"},
		{[]string{"spring", "datasource", "url"}, "", "mysql.main.url"}, // --map on the file's key
		{[]string{"queue", "url"}, "", "mq.main.url"},                   // --map prefix on the derived path
		{[]string{"my key", "ünï", ""}, "", "extend.my_key._n_"},
	}
	for _, c := range cases {
		var prefix []string
		if c.prefix != "" {
			prefix = []string{c.prefix}
		}
		if got := nm.derive(c.segs, prefix).path; got != c.want {
			t.Errorf("derive(%q) = %s; want %s", c.segs, got, c.want)
		}
	}
}

func TestCandidates(t *testing.T) {
	r := pathRule{path: "mysql.main.ip", vary: 1}
	var got []string
	for n := 0; n < 3; n++ {
		p, _ := r.candidate(n)
		got = append(got, p)
	}
	if strings.Join(got, " ") != "mysql.main.ip mysql.main_2.ip mysql.main_3.ip" {
		t.Errorf("candidates %v", got)
	}
}

func TestIsSecret(t *testing.T) {
	for key, want := range map[string]bool{"password": true, "DB_PASSWD": true, "client_secret": true, "apiKey": true,
		"api_key": true, "private_key": true, "aws_credentials": true, "authToken": true, "host": false, "username": false} {
		if got := isSecret([]string{"x", key}); got != want {
			t.Errorf("isSecret(%s) = %v", key, got)
		}
	}
	if !isSecret([]string{"env", "DB_PASSWORD", "value"}) || isSecret([]string{"env", "REGION", "value"}) {
		t.Error("isSecret must look through a k8s env item's value to its name")
	}
}

// TestScalarFor checks that values which YAML would read as another type or form are quoted, and
// that numbers are only written as numbers when their text survives.
func TestScalarFor(t *testing.T) {
	cases := map[string]string{
		"8080": "8080", "007": `"007"`, "true": "true", "True": `"True"`, "1.0": `"1.0"`, "0.5": "0.5",
		"0x1F": `"0x1F"`, " lead": `" lead"`, "trail ": `"trail "`, "a: b": `'a: b'`, "": `""`, "null": `"null"`,
		"~": `"~"`, "#x": `'#x'`, "-0": `"-0"`, "1e3": `"1e3"`, "ünï": "ünï", "a\tb": `"a\tb"`, "l1\nl2\n": `"l1\nl2\n"`,
		"\r\n": `"\r\n"`, "-": `'-'`, "@x": `'@x'`,
	}
	for in, want := range cases {
		n, err := scalarFor(in)
		if err != nil {
			t.Errorf("scalarFor(%q): %v", in, err)
			continue
		}
		d, _ := newRegionDoc("r", "r.yaml", "r.yaml", nil, false)
		d.set("k", n)
		out, err := d.bytes()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(strings.TrimPrefix(string(out), "k: "), "\n"); got != want {
			t.Errorf("scalarFor(%q) writes %s; want %s", in, got, want)
		}
		v, _ := values.Parse("r.yaml", out)
		if s, _, _ := v.Leaf("k"); s != in {
			t.Errorf("scalarFor(%q) reads back as %q", in, s)
		}
	}
	if _, err := scalarFor("caf\xe9"); err == nil {
		t.Error("invalid UTF-8 must be refused")
	}
}

// TestRoundTripForms imports byte-level edge cases in memory: line endings, BOM, final newline.
func TestRoundTripForms(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		a, b   string
		holes  int
	}{
		{"crlf", FormatProperties, "a=1\r\nb=x\r\n", "a=1\r\nb=y\r\n", 1},
		{"no final newline", FormatTOML, "[s]\nk = \"x\"", "[s]\nk = \"y\"", 1},
		{"final newline in one only", FormatINI, "[s]\nk = x\n", "[s]\nk = x", 1},
		{"mixed endings", FormatText, "a 1\r\nb 2\n", "a 1\nb 2\n", 1},
		{"bom in one only", FormatJSON, "\xef\xbb\xbf{\"k\": 1}\n", "{\"k\": 1}\n", 1},
		{"bom both", FormatYAML, "\xef\xbb\xbfk: é\n", "\xef\xbb\xbfk: è\n", 1},
		{"literal ^cac", FormatText, "x ^cac<<y>>\nport 1\n", "x ^cac<<y>>\nport 2\n", 2},
		{"quotes kept", FormatTOML, "[mysql]\nhost = \"10.0.0.1\"\n", "[mysql]\nhost = \"10.0.0.2\"\n", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vs := []*variant{{region: "a", file: "f.a", data: []byte(c.a)}, {region: "b", file: "f.b", data: []byte(c.b)}}
			docs := make([]*regionDoc, 2)
			for i, v := range vs {
				docs[i], _ = newRegionDoc(v.region, v.region+".yaml", "/c/"+v.region+".yaml", nil, false)
			}
			got, err := compute(vs, c.format, namer{root: DefaultRoot}, docs, make([]*values.Node, 2))
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(got.template, []byte("^cac<<")); n != c.holes {
				t.Errorf("template %q has %d placeholders; want %d", got.template, n, c.holes)
			}
			if c.name == "quotes kept" && !bytes.Contains(got.template, []byte(`host = "^cac<<mysql.main.ip>>"`)) {
				t.Errorf("template %q: only the value may be replaced", got.template)
			}
		})
	}
}

// TestVerifyCatchesMismatch tampers with a computed region file: the verifier must name the file
// and the first line that would differ.
func TestVerifyCatchesMismatch(t *testing.T) {
	vs := []*variant{
		{region: "a", file: "app.a.ini", data: []byte("[s]\nx = 1\ny = p\n")},
		{region: "b", file: "app.b.ini", data: []byte("[s]\nx = 1\ny = q\n")},
	}
	docs := make([]*regionDoc, 2)
	for i, v := range vs {
		docs[i], _ = newRegionDoc(v.region, v.region+".yaml", "/c/"+v.region+".yaml", nil, false)
	}
	c, err := compute(vs, FormatINI, namer{root: DefaultRoot}, docs, make([]*values.Node, 2))
	if err != nil {
		t.Fatal(err)
	}
	docs[1].set("extend.s.y", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "tampered"})
	_, err = verify(vs, c.template, docs, make([]*values.Node, 2))
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.File != "app.b.ini" || ve.Region != "b" || ve.Line != 3 {
		t.Fatalf("err = %#v; want a VerifyError at app.b.ini:3", err)
	}
}

func TestTemplatePath(t *testing.T) {
	for pattern, want := range map[string]string{
		"conf/app.{region}.toml": "conf/CacRegion_app.toml", "{region}/app.yaml": "CacRegion_app.yaml",
		"deploy/{region}/nginx.conf": "deploy/CacRegion_nginx.conf", "app-{region}.ini": "CacRegion_app.ini",
		".env.{region}": "CacRegion_.env", "conf/.env.{region}": "conf/CacRegion_.env", "{region}.env": "CacRegion_env",
		".{region}": "", "{region}": "",
	} {
		if got := templatePath(pattern); got != want {
			t.Errorf("templatePath(%q) = %q; want %q", pattern, got, want)
		}
	}
	if got := stem(".env.sg", "sg"); got != "env" {
		t.Errorf("stem(.env.sg) = %q; want env", got)
	}
}
