package standard

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cacproj/cac/internal/golden"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

// mustLoad loads a standard named standard.yaml; files are the files beside it.
func mustLoad(t testing.TB, src string, files map[string]string) *Standard {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	s, err := Load("standard.yaml", []byte(src), LoadOptions{ReadFile: FSReader(fsys)})
	if err != nil {
		t.Fatalf("load standard: %v", err)
	}
	return s
}

func parseValues(t testing.TB, file, src string) *values.Node {
	t.Helper()
	n, probs := values.Parse(file, []byte(src))
	if len(probs) > 0 {
		t.Fatalf("parse %s: %v", file, probs)
	}
	return n
}

// brief renders findings as "pos path rule" lines, the part of a finding the rule tables assert.
func brief(fs []report.Finding) string {
	var lines []string
	for _, f := range fs {
		lines = append(lines, fmt.Sprintf("%s %s %s", f.Pos, f.Path, f.Rule))
	}
	return strings.Join(lines, "\n")
}

func TestRules(t *testing.T) {
	cases := []struct {
		name, std, pass, fail, want string
	}{
		{"type int", "port: {type: int}", "port: 80", "port: '80'", "svc/r.yaml:1:7 port type"},
		{"type string", "name: {type: string}", "name: '007'", "name: 007", "svc/r.yaml:1:7 name type"},
		{"type float accepts int", "ratio: {type: float}", "ratio: 1", "ratio: x", "svc/r.yaml:1:8 ratio type"},
		{"type bool", "on: {type: bool}", "on: false", "on: 'no'", "svc/r.yaml:1:5 on type"},
		{"type of a list", "port: {type: int}", "port: 1", "port: [1, 2]", "svc/r.yaml:1:7 port type"},
		{"mapping at a leaf", "port: {type: int}", "port: 1", "port:\n  a: 1", "svc/r.yaml:2:3 port type"},
		{"mapping expected", "db:\n  port: {type: int}", "db: {port: 1}", "db: 5", "svc/r.yaml:1:5 db type"},
		{"required leaf", "db:\n  port: {type: int, required: true}\n  ip: {}", "db: {port: 1}", "db:\n  ip: x",
			"svc/r.yaml:1:1 db.port required"},
		{"required but empty", "port: {required: true}", "port: 1", "port:", "svc/r.yaml:1:6 port required"},
		{"required section", "env:\n  physical: {required: true}", "env: {physical: x}", "other: 1",
			"svc/r.yaml:1:1 env required\nsvc/r.yaml:1:1 other unknown-key"},
		{"mustAll", "db:\n  $mustAll: [ip, port]\n  ip: {}\n  port: {}", "db: {ip: a, port: 1}", "x: 1\ndb:\n  ip: a",
			"svc/r.yaml:1:1 x unknown-key\nsvc/r.yaml:2:1 db mustAll"},
		{"atLeastOne", "db:\n  $atLeastOne: [ip, domain]\n  ip: {}\n  domain: {}\n  port: {}", "db: {domain: a}", "db:\n  port: 1",
			"svc/r.yaml:1:1 db atLeastOne"},
		{"dict", "stage: {dict: [sim, online]}", "stage: online", "stage: prod", "svc/r.yaml:1:8 stage dict"},
		{"dict of ints", "db: {type: int, dict: [0, 1]}", "db: 1", "db: 2", "svc/r.yaml:1:5 db dict"},
		{"pattern is anchored", "name: {pattern: '[a-z]+'}", "name: abc", "name: abc1", "svc/r.yaml:1:7 name pattern"},
		{"pattern on list items", "hosts: {pattern: '[a-z.]+'}", "hosts: [a.b, c]", "hosts:\n  - a.b\n  - C1",
			"svc/r.yaml:3:5 hosts.1 pattern"},
		{"excludePattern is anchored", "host: {excludePattern: 'localhost'}", "host: localhost.example", "host: localhost",
			"svc/r.yaml:1:7 host excludePattern"},
		{"expr", "port: {type: int, expr: isPort(value)}", "port: 443", "port: 0", "svc/r.yaml:1:7 port expr"},
		{"expr over values, region and usn", "a: {}\nb: {expr: 'value > values.a && region == \"r\" && usn == \"svc\" && path == \"b\"'}",
			"a: 1\nb: 2", "a: 3\nb: 2", "svc/r.yaml:2:4 b expr"},
		{"expr runtime error", "u: {expr: 'value startsWith \"/\"'}", "u: /x", "u: 5", "svc/r.yaml:1:4 u expr"},
		{"star matches any tag", "db:\n  '*':\n    port: {type: int}", "db: {main: {port: 1}, other: {port: 2}}",
			"db:\n  main:\n    port: x", "svc/r.yaml:3:11 db.main.port type"},
		{"explicit key wins over star", "db:\n  '*': {type: int}\n  name: {type: string}", "db: {a: 1, name: x}", "db: {a: 1, name: 2}",
			"svc/r.yaml:1:18 db.name type"},
		{"unknown key", "db:\n  port: {}", "db: {port: 1}", "db:\n  prot: 1", "svc/r.yaml:2:3 db.prot unknown-key"},
		{"$any accepts unknown keys", "ext:\n  $any: true\n  n: {type: int}", "ext: {x: {y: [1]}, n: 1}", "ext: {x: 1, n: a}",
			"svc/r.yaml:1:16 ext.n type"},
		{"null mapping is empty", "db:\n  $mustAll: [ip]\n  ip: {}", "db: {ip: x}", "db:", "svc/r.yaml:1:1 db mustAll"},
		{"usn", "calls:\n  $key: {usn: true}\n  '*': {}", "calls: {pay: 1}", "calls:\n  pay: 1\n  pya: 2",
			"svc/r.yaml:3:3 calls.pya usn"},
		{"whitelist", "extend:\n  $whitelist: wl.yaml\n  $any: true", "extend: {}", "extend: {x: 1}",
			"svc/r.yaml:1:1 extend whitelist"},
		{"whitelist lets listed services in", "extend:\n  $whitelist: ok.yaml\n  $any: true", "extend: {x: 1}", "extend: 3",
			"svc/r.yaml:1:9 extend type"},
	}
	files := map[string]string{"wl.yaml": "- someone-else\n", "ok.yaml": "- svc\n"}
	reg := NewRegistry("services.yaml", "pay")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustLoad(t, c.std, files)
			in := Input{Region: "r", USN: "svc", Registry: reg}
			in.Values = parseValues(t, "svc/r.yaml", c.pass)
			if got := s.Validate(in); len(got) != 0 {
				t.Errorf("passing values gave findings:\n%v", got)
			}
			in.Values = parseValues(t, "svc/r.yaml", c.fail)
			got := s.Validate(in)
			if b := brief(got); b != c.want {
				t.Errorf("findings:\n%s\nwant:\n%s\nfull: %v", b, c.want, got)
			}
			for _, f := range got {
				if f.Region != "r" || f.Severity != report.SeverityError || f.Message == "" {
					t.Errorf("finding lacks region, severity or message: %+v", f)
				}
			}
		})
	}
}

func TestMessages(t *testing.T) {
	std := `
env:
  physical: {type: string, dict: [sim, online], description: Stage of the environment.}
db:
  $mustAll: [ip, port]
  $atLeastOne: [ip, domain]
  ip: {type: string}
  domain: {type: string}
  port: {type: int, required: true, message: "ask the DBA team for the port"}
  name: {pattern: '[a-z]+'}
`
	s := mustLoad(t, std, nil)
	cases := []struct{ values, path, rule, want string }{
		{"env: {physical: prod}", "env.physical", "dict", `the value "prod" is not allowed; use one of sim, online. Stage of the environment.`},
		{"db: {port: '3306'}", "db", "mustAll", "must contain all of ip, port; missing: ip. Add it under db in svc/r.yaml (line 1)"},
		{"db: {port: 1}", "db", "atLeastOne", "needs at least one of ip, domain, and has none. Add one under db in svc/r.yaml (line 1)"},
		{"db: {ip: a}", "db.port", "required", "ask the DBA team for the port"},
		{"db: {ip: a, port: x}", "db.port", "type", "ask the DBA team for the port"},
		{"db: {ip: a, port: 1, name: B}", "db.name", "pattern", `the value "B" does not match the pattern [a-z]+ (the whole value must match)`},
		{"db: {ip: a, port: 1, nmae: b}", "db.nmae", "unknown-key", `unknown key "nmae": the standard has no such key here (did you mean "name"?); allowed keys: ip, domain, port, name`},
		{"dbs: 1", "dbs", "unknown-key", `unknown key "dbs": the standard has no such key here (did you mean "db"?); allowed keys: env, db`},
		{"env: {physical: 1}", "env.physical", "type", "must be text (a string) such as sim, but is the int 1; put the value in quotes to make it text. Stage of the environment."},
	}
	for _, c := range cases {
		got := s.Validate(Input{Region: "r", USN: "svc", Values: parseValues(t, "svc/r.yaml", c.values)})
		var found bool
		for _, f := range got {
			if f.Path == c.path && f.Rule == c.rule {
				found = true
				if f.Message != c.want {
					t.Errorf("%s %s message:\n got %q\nwant %q", c.path, c.rule, f.Message, c.want)
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s finding at %s in %v", c.values, c.rule, c.path, got)
		}
	}
}

func TestRequiredNamesTheFile(t *testing.T) {
	s := mustLoad(t, "env:\n  physical: {required: true}\n  group: {required: true}\ndb:\n  port: {required: true}\n  ip: {}", nil)
	global := parseValues(t, "_global/sg.yaml", "db:\n  ip: a\n")
	svc := parseValues(t, "user/sg.yaml", "other: 1\n")
	got := s.Validate(Input{Region: "sg", USN: "user", Values: values.Merge(global, svc)})
	want := []string{
		"_global/sg.yaml:1:1: [sg] db.port: required key port is missing; add port: \"...\" under db in _global/sg.yaml (line 1) (required)",
		"user/sg.yaml:1:1: [sg] env: required section env is missing; add env with physical, group at the top level of user/sg.yaml (or of _global/sg.yaml if every service of the region shares it) (required)",
	}
	var lines []string
	for _, f := range got {
		if f.Rule == RuleRequired {
			lines = append(lines, f.String())
		}
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestSecretNeverShown(t *testing.T) {
	const secret = "Sup3r-Secret-Value"
	std := `
pw: {type: int, secret: true}
a: {secret: true, dict: [x, y]}
b: {secret: true, pattern: '[0-9]+'}
c: {secret: true, excludePattern: '.*Secret.*'}
d: {secret: true, expr: 'len(value) < 5'}
e: {secret: true, expr: 'value + 1 > 0'}
`
	s := mustLoad(t, std, nil)
	src := strings.NewReplacer("S", secret).Replace("pw: S\na: S\nb: S\nc: S\nd: S\ne: S\n")
	got := s.Validate(Input{Region: "r", Values: parseValues(t, "svc/r.yaml", src)})
	if len(got) != 6 {
		t.Fatalf("want one finding per secret, got %v", got)
	}
	for _, f := range got {
		if strings.Contains(f.String(), secret) || strings.Contains(f.String(), "Sup3r") {
			t.Errorf("secret value printed: %s", f)
		}
		if f.Rule != RuleType && !strings.Contains(f.Message, "the secret value") {
			t.Errorf("message should name the value without showing it: %s", f)
		}
	}
	secrets := s.Secrets(parseValues(t, "svc/r.yaml", src+"f: "+secret+"\n"))
	if len(secrets) != 6 || secrets[0] != (SecretValue{Path: "pw", Value: secret}) || secrets[5].Path != "e" {
		t.Errorf("Secrets = %+v", secrets)
	}
}

func TestRegistryMissingWarnsOnce(t *testing.T) {
	s := mustLoad(t, "calls:\n  $key: {usn: true}\n  '*': {}", nil)
	got := s.Validate(Input{Region: "r", Values: parseValues(t, "svc/r.yaml", "calls:\n  a: 1\n  b: 2\n")})
	if len(got) != 1 || got[0].Severity != report.SeverityWarning || got[0].Rule != RuleUSN || got[0].Path != "calls" ||
		got[0].Pos.String() != "svc/r.yaml:1:1" || report.Errors(got) != 0 {
		t.Errorf("want one warning, got %+v", got)
	}
}

func TestLeafAndWalk(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"mysql.main.password":                         "mysql.*.password",
		"microService.pay.interfaceConfig.charge.url": "microService.*.interfaceConfig.*.url",
		"env.physical":                                "env.physical",
		"mysql.main.nope":                             "",
		"mysql.main":                                  "",
		"extend.anything":                             "",
		"env.physical.0":                              "env.physical",
	}
	for path, want := range cases {
		r := s.Leaf(path)
		got := ""
		if r != nil {
			got = r.Path
		}
		if got != want {
			t.Errorf("Leaf(%s) = %q, want %q", path, got, want)
		}
	}
	if r := s.Leaf("mysql.x.password"); r == nil || !r.Secret || r.Delivery != DeliveryManual {
		t.Errorf("password rule: %+v", r)
	}
	n, secrets := 0, 0
	s.Walk(func(r *Rule) bool {
		n++
		if r.Description == "" {
			t.Errorf("%s (%s) has no description", r.Path, r.Pos)
		}
		if r.Secret {
			secrets++
		}
		return true
	})
	if n < 80 || secrets != 6 {
		t.Errorf("walked %d leaves, %d secrets", n, secrets)
	}
	stop := 0
	s.Walk(func(*Rule) bool { stop++; return stop < 3 })
	if stop != 3 {
		t.Errorf("Walk did not stop: %d", stop)
	}
}

func TestDefaultStandardGolden(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	v, probs, err := values.Load(os.DirFS("testdata/config"), "user-center", "sg")
	if err != nil || len(probs) > 0 {
		t.Fatal(err, probs)
	}
	reg := NewRegistry("services.yaml", "payment-gateway", "user-center")
	var b strings.Builder
	for _, usn := range []string{"user-center", "billing"} {
		fmt.Fprintf(&b, "# as %s\n", usn)
		for _, f := range s.Validate(Input{Region: "sg", USN: usn, Values: v, Registry: reg}) {
			b.WriteString(f.String() + "\n")
		}
	}
	if strings.Contains(b.String(), "hunter2") || strings.Contains(b.String(), "123456") || strings.Contains(b.String(), "s3cr3t") {
		t.Error("a secret was printed")
	}
	golden.Assert(t, []byte(b.String()))
}

func TestJSONSchema(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, out)
}

func TestJSONSchemaSmall(t *testing.T) {
	s := mustLoad(t, `
$description: Top.
db:
  $mustAll: [ip]
  $atLeastOne: [ip, domain]
  ip: {type: string, required: true}
  domain: {type: string, pattern: '[a-z.]+', excludePattern: '(?i)localhost'}
  n: {type: int, dict: [0, 1], secret: true}
  on: {type: bool, dict: [true]}
tags:
  '*': {type: float}
free:
  $any: true
`, nil)
	out, err := s.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, out)
}

func TestStandardErrors(t *testing.T) {
	cases := []struct{ name, std, want string }{
		{"unknown attribute", "port: {type: int, requird: true}", `standard.yaml:1:19: port: unknown attribute "requird" (did you mean "required"?)`},
		{"shorthand", "db: {ip: string}", `standard.yaml:1:6: db: unknown attribute "ip"`},
		{"bad type", "port: {type: integer}", `standard.yaml:1:14: port: unknown type "integer"; use string, int, float or bool`},
		{"bad regex", "a: {pattern: '[a-'}", "standard.yaml:1:14: a: pattern is not a valid Go regular expression: invalid character class range"},
		{"bad exclude regex", "a: {excludePattern: '(x'}", "standard.yaml:1:21: a: excludePattern is not a valid Go regular expression"},
		{"expr does not compile", "a: {expr: 'value >'}", "standard.yaml:1:11: a: expr does not compile to true/false"},
		{"expr not bool", "a: {expr: 'len(path)'}", "standard.yaml:1:11: a: expr does not compile to true/false: expected bool"},
		{"unknown helper", "a: {expr: 'isFoo(value)'}", "standard.yaml:1:11: a: expr does not compile to true/false: unknown name isFoo"},
		{"missing whitelist", "x:\n  $whitelist: nope.yaml\n  $any: true", "standard.yaml:2:15: $whitelist nope.yaml cannot be read"},
		{"bad whitelist", "x:\n  $whitelist: bad.yaml\n  $any: true", "standard.yaml:2:15: $whitelist bad.yaml must be a YAML list of service names"},
		{"dict mixed", "a: {dict: [a, 1]}", `standard.yaml:1:15: a: dict mixes types: "1" is a int but the first value is a string`},
		{"dict vs type", "a: {type: int, dict: [a]}", "standard.yaml:1:22: a: dict values are strings but the type is int"},
		{"auto without generator", "a: {delivery: auto}", "standard.yaml:1:15: a: delivery auto needs a generator"},
		{"bad generator", "a: {delivery: auto, generator: 'region +'}", "standard.yaml:1:32: a: generator does not compile"},
		{"bad delivery", "a: {delivery: later}", `standard.yaml:1:15: a: unknown delivery "later"`},
		{"unknown map attribute", "a:\n  $mustall: [b]\n  b: {}", `standard.yaml:2:3: unknown mapping attribute $mustall (did you mean "$mustAll"?)`},
		{"mustAll names a stranger", "a:\n  $mustAll: [c]\n  b: {}", `standard.yaml:2:13: $mustAll names "c", which is not a key of this mapping (keys: b)`},
		{"bad $key", "a:\n  $key: {name: true}\n  '*': {}", `standard.yaml:2:10: unknown $key check "name"`},
		{"required not bool", "a: {required: yes}", "standard.yaml:1:15: required must be true or false"},
		{"scalar rule", "a: 5", "standard.yaml:1:4: a: expected a mapping"},
		{"broken YAML", "a: {b", "standard.yaml:1: invalid YAML"},
		{"top level", "- a", "standard.yaml:1:1: the top level of a standard must be a mapping"},
	}
	fsys := fstest.MapFS{"bad.yaml": {Data: []byte("a: b\n")}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load("standard.yaml", []byte(c.std), LoadOptions{ReadFile: FSReader(fsys)})
			if err == nil {
				t.Fatal("loaded a broken standard")
			}
			if cacerr.ExitCode(err) != 2 {
				t.Errorf("exit code %d, want 2", cacerr.ExitCode(err))
			}
			var se *Error
			if !errors.As(err, &se) || len(se.Problems) != 1 {
				t.Fatalf("want one problem in a *standard.Error, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got:\n%v\nwant it to contain:\n%s", err, c.want)
			}
		})
	}
	_, err := Load("standard.yaml", []byte("a: {type: integer}\nb: {pattern: '('}\nc:\n  $whitelist: w.yaml\n"), LoadOptions{})
	var se *Error
	if !errors.As(err, &se) || len(se.Problems) != 3 {
		t.Errorf("every problem must be reported at once, got %v", err)
	}
}

func TestExprHelpers(t *testing.T) {
	cases := []struct {
		fn   func(any) bool
		v    any
		want bool
	}{
		{isIP, "10.0.0.1", true}, {isIP, "::1", true}, {isIP, "10.0.0.300", false}, {isIP, 10, false},
		{isDomain, "redis", true}, {isDomain, "db-1.svc.cluster.local", true}, {isDomain, "10.0.0.300", false},
		{isDomain, "-bad.com", false}, {isDomain, "a_b.com", false}, {isDomain, 1, false},
		{isURL, "https://a.b/c", true}, {isURL, "/c", false}, {isURL, "a.b", false},
		{isPort, 1, true}, {isPort, 65535, true}, {isPort, 0, false}, {isPort, 65536, false}, {isPort, "80", true}, {isPort, 1.5, false},
	}
	for _, c := range cases {
		if got := c.fn(c.v); got != c.want {
			t.Errorf("%T %v: got %v", c.fn, c.v, got)
		}
	}
}

// A Standard is shared by concurrent validations (cac validates regions in parallel).
func TestValidateConcurrently(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	v := parseValues(t, "svc/r.yaml", "mysql:\n  main:\n    ip: 10.0.0.1\n    port: 0\n    username: u\n    password: p\n    database: d\n")
	want := brief(s.Validate(Input{Region: "r", Values: v}))
	done := make(chan string)
	for i := 0; i < 8; i++ {
		go func() { done <- brief(s.Validate(Input{Region: "r", Values: v})) }()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; got != want {
			t.Errorf("concurrent validation differs:\n%s\nwant:\n%s", got, want)
		}
	}
	if want != "svc/r.yaml:1:1 env required\nsvc/r.yaml:4:11 mysql.main.port expr" {
		t.Errorf("findings: %s", want)
	}
}

// TestCaCTemplateRegion: a region file written to the CaC standard template (mysql maxConnLifeTime,
// maxQps, maxLimit; microService writeTimeout, also per interface; env.group simOnline, env.inrouter)
// validates clean against the default standard.
func TestCaCTemplateRegion(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	v, probs, err := values.Load(os.DirFS("testdata/cactemplate"), "order", "sim")
	if err != nil || len(probs) > 0 {
		t.Fatal(err, probs)
	}
	for _, p := range []string{"mysql.main.maxConnLifeTime", "mysql.main.maxQps", "mysql.main.maxLimit", "env.group", "env.inrouter",
		"microService.payment-gateway.writeTimeout", "microService.payment-gateway.interfaceConfig.charge.writeTimeout"} {
		if _, _, err := v.Leaf(p); err != nil {
			t.Fatalf("the fixture lacks %s: %v", p, err)
		}
	}
	reg := NewRegistry("services.yaml", "order", "payment-gateway")
	if fs := s.Validate(Input{Region: "sim", USN: "order", Values: v, Registry: reg}); len(fs) > 0 {
		t.Errorf("findings for a region written to the CaC template:\n%s", brief(fs))
	}
	for _, g := range []string{"simOnline", "preview", "product", "sg-online"} {
		in := parseValues(t, "_global/x.yaml", "env: {physical: sim, group: "+g+"}\n")
		if fs := s.Validate(Input{Region: "x", Values: in}); len(fs) > 0 {
			t.Errorf("env.group %s: %s", g, brief(fs))
		}
	}
}

// TestImagePattern: deploy.image.<container> of the default standard takes real image references
// (what Deployments in GitOps repos carry) and refuses malformed ones.
func TestImagePattern(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	digest := "@sha256:" + strings.Repeat("0123456789abcdef", 4)
	for ref, ok := range map[string]bool{
		"nginx": true, "nginx:1.27-alpine": true, "docker.io/library/nginx:1.27": true, "reg/user:1.2": true,
		"registry.example.com:5000/team/app:v1.2.3": true, "ghcr.io/argoproj/argocd:v2.12.3": true,
		"quay.io/prometheus/node-exporter" + digest: true, "localhost:5000/foo_bar/baz__q:latest" + digest: true,
		"Nginx": false, "reg/user:": false, "reg/user:1.2 ": false, "reg//user": false, "-reg/user": false, "reg/user@sha256:12": false,
	} {
		in := parseValues(t, "order/x.yaml", fmt.Sprintf("deploy:\n  image:\n    app: %q\n", ref))
		fs := s.Validate(Input{Region: "x", USN: "order", Values: in})
		var bad []report.Finding
		for _, f := range fs {
			if strings.HasPrefix(f.Path, "deploy.") {
				bad = append(bad, f)
			}
		}
		if (len(bad) == 0) != ok {
			t.Errorf("image %q: accepted=%v, want %v (%s)", ref, len(bad) == 0, ok, brief(bad))
		}
	}
}
