package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
)

// ParsePairs reads repeated `key=value` flags (--file conf/app-sg.toml=sg, --map old.path=new.path)
// into a map. flag names the flag in messages.
func ParsePairs(flag string, list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(list))
	for _, s := range list {
		k, v, ok := strings.Cut(s, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, cacerr.Usage("import: --%s %q: write it as left=right", flag, s)
		}
		if old, dup := m[k]; dup && old != v {
			return nil, cacerr.Usage("import: --%s %s is given twice (%s and %s)", flag, k, old, v)
		}
		m[k] = v
	}
	return m, nil
}

// jobFile is the batch file of `cac import --jobs FILE`.
type jobFile struct {
	Jobs []struct {
		USN      string            `yaml:"usn"`
		Dir      string            `yaml:"dir"` // the service's code dir, relative to the jobs file
		Pattern  string            `yaml:"pattern"`
		Files    map[string]string `yaml:"files"` // file → region
		Template string            `yaml:"template"`
		Map      map[string]string `yaml:"map"`
	} `yaml:"jobs"`
}

// LoadJobs reads a batch file:
//
//	jobs:
//	  - usn: orders
//	    dir: services/orders          # relative to the batch file
//	    pattern: conf/app.{region}.toml
//	    map: {extend.db.url: mysql.main.url}
//	  - usn: billing
//	    dir: services/billing
//	    files: {conf/billing-sg.ini: sg, conf/billing-us.ini: us}
//
// base is the batch file's directory; defaults supplies ConfigDir, Root, DryRun, Standard and a Map
// that applies to every job (a job's own map wins).
func LoadJobs(r io.Reader, base string, defaults Options) ([]Options, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, cacerr.Usage("import: read jobs: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f jobFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, cacerr.Usage("import: jobs file: %w", err)
	}
	if len(f.Jobs) == 0 {
		return nil, cacerr.Usage("import: the jobs file lists no jobs (jobs: [{usn: ..., dir: ..., pattern: ...}])")
	}
	var jobs []Options
	for i, j := range f.Jobs {
		o := defaults
		o.USN, o.Pattern, o.Pairs, o.Template = j.USN, j.Pattern, j.Files, j.Template
		o.CodeDir = filepath.Join(base, filepath.FromSlash(j.Dir))
		if len(j.Map) > 0 {
			o.Map = map[string]string{}
			for k, v := range defaults.Map {
				o.Map[k] = v
			}
			for k, v := range j.Map {
				o.Map[k] = v
			}
		}
		if (o.Pattern == "") == (len(o.Pairs) == 0) {
			return nil, cacerr.Usage("import: jobs file, job %d (%s): give either pattern or files", i+1, describe(j.USN))
		}
		jobs = append(jobs, o)
	}
	return jobs, nil
}

func describe(usn string) string {
	if usn == "" {
		return "no usn"
	}
	return fmt.Sprintf("usn %s", usn)
}
