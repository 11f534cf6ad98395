package migrate

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
)

func TestParsePairs(t *testing.T) {
	m, err := ParsePairs("file", []string{"conf/a-sg.toml=sg", " conf/a-us.toml = us "})
	if err != nil || fmt.Sprint(m) != "map[conf/a-sg.toml:sg conf/a-us.toml:us]" {
		t.Errorf("ParsePairs = %v, %v", m, err)
	}
	for _, bad := range [][]string{{"noequals"}, {"=sg"}, {"a=x", "a=y"}} {
		if _, err := ParsePairs("file", bad); cacerr.ExitCode(err) != 2 {
			t.Errorf("ParsePairs(%q) = %v; want a usage error", bad, err)
		}
	}
}

func TestLoadJobs(t *testing.T) {
	src := `jobs:
  - usn: orders
    dir: services/orders
    pattern: conf/app.{region}.toml
    map: {extend.log.level: logging.level}
  - usn: billing
    dir: services/billing
    files: {conf/b-sg.ini: sg, conf/b-us.ini: us}
`
	jobs, err := LoadJobs(strings.NewReader(src), "/repo", Options{ConfigDir: "/cfg", Map: map[string]string{"a.b": "c.d"}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 {
		t.Fatalf("%d jobs", len(jobs))
	}
	o := jobs[0]
	if o.CodeDir != filepath.Join("/repo", "services", "orders") || o.ConfigDir != "/cfg" || !o.DryRun || o.USN != "orders" ||
		fmt.Sprint(o.Map) != "map[a.b:c.d extend.log.level:logging.level]" {
		t.Errorf("job 1: %+v", o)
	}
	if fmt.Sprint(jobs[1].Pairs) != "map[conf/b-sg.ini:sg conf/b-us.ini:us]" || fmt.Sprint(jobs[1].Map) != "map[a.b:c.d]" {
		t.Errorf("job 2: %+v", jobs[1])
	}
	for _, bad := range []string{"", "jobs: []", "jobs: [{usn: x, dir: y}]", "jobs: [{usn: x, patern: y}]",
		"jobs: [{usn: x, pattern: 'a.{region}', files: {a: b}}]"} {
		if _, err := LoadJobs(strings.NewReader(bad), "/", Options{}); cacerr.ExitCode(err) != 2 {
			t.Errorf("LoadJobs(%q) = %v; want a usage error", bad, err)
		}
	}
}
