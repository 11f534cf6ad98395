// Command benchgen writes the synthetic fleet `make bench` measures cac and its peers on:
//
//	go run ./internal/benchgen -out DIR -services 300 -regions 16
//
// DIR/code/<usn>/conf/CacRegion_file-NN.<ext>   ~10 templates per service (TOML, YAML, properties,
//
//	JSON, INI), 40 lines and 8 placeholders each
//
// DIR/config/_global/<region>.yaml, DIR/config/<usn>/<region>.yaml   the config repo's files
// DIR/standard.yaml                              a permissive standard ($any: true)
// DIR/gomplate/templates/conf/file-NN.<ext>      the first service's templates in gomplate syntax
// DIR/gomplate/values/<region>.json              its effective values per region, as cac merges them
//
// The script commits DIR/config as a git repo; benchgen only writes files.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/placeholder"
	"github.com/cacproj/cac/pkg/values"
)

const (
	templates    = 10
	lines        = 40
	placeholders = 8
)

// formats are the template kinds, used in turn.
var formats = []string{"toml", "yaml", "properties", "json", "ini"}

func main() {
	out := flag.String("out", "", "directory to write the fleet into (required)")
	services := flag.Int("services", 300, "services")
	regions := flag.Int("regions", 16, "regions")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "benchgen: -out is required")
		os.Exit(2)
	}
	if err := generate(*out, *services, *regions); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(2)
	}
}

func usn(s int) string        { return fmt.Sprintf("svc-%04d", s) }
func regionName(r int) string { return fmt.Sprintf("region-%02d", r) }

func generate(out string, services, regions int) error {
	config := filepath.Join(out, "config")
	if err := write(filepath.Join(out, "standard.yaml"), []byte("$any: true\n")); err != nil {
		return err
	}
	for r := range regions {
		if err := writeYAML(filepath.Join(config, "_global", regionName(r)+".yaml"), globalValues(r)); err != nil {
			return err
		}
		for s := range services {
			if err := writeYAML(filepath.Join(config, usn(s), regionName(r)+".yaml"), serviceValues(s, r, services)); err != nil {
				return err
			}
		}
	}
	paths := leaves(globalValues(0), serviceValues(0, 0, services))
	for s := range services {
		for f := range templates {
			name := fmt.Sprintf("conf/CacRegion_file-%02d.%s", f, formats[f%len(formats)])
			if err := write(filepath.Join(out, "code", usn(s), name), template(s, f, paths)); err != nil {
				return err
			}
		}
	}
	return gomplateInput(out, regions)
}

// globalValues is _global/<region>.yaml.
func globalValues(r int) map[string]any {
	return map[string]any{
		"env":     map[string]any{"name": regionName(r), "physical": "online", "group": fmt.Sprintf("g%02d", r%4), "dns_suffix": regionName(r) + ".internal"},
		"log":     map[string]any{"level": "info", "endpoint": fmt.Sprintf("logs.%s.internal:5140", regionName(r))},
		"metrics": map[string]any{"endpoint": fmt.Sprintf("metrics.%s.internal:9090", regionName(r)), "interval_s": 15},
	}
}

// serviceValues is <usn>/<region>.yaml; it overrides log.level from _global.
func serviceValues(s, r, services int) map[string]any {
	name, region := usn(s), regionName(r)
	db := func(tag string, port int) map[string]any {
		return map[string]any{"host": fmt.Sprintf("%s-%s.mysql.%s.internal", name, tag, region), "port": port, "user": strings.ReplaceAll(name, "-", "_"),
			"password": fmt.Sprintf("pw-%s-%s-%02d", name, tag, r), "database": "db_" + tag, "max_conns": 20 + s%30}
	}
	downstream := map[string]any{}
	for c := 1; c <= 3; c++ {
		callee := usn((s + c) % services)
		downstream[fmt.Sprintf("callee_%d", c)] = map[string]any{"name": callee, "url": fmt.Sprintf("http://%s.%s.internal:8080", callee, region), "timeout_ms": 500 * c}
	}
	feature := map[string]any{}
	for i := range 8 {
		feature[fmt.Sprintf("flag_%02d", i)] = (s+r+i)%3 == 0
	}
	return map[string]any{
		"app":        map[string]any{"name": name, "port": 8000 + s, "replicas": 2 + r%3, "image": fmt.Sprintf("registry.internal/%s:1.%d.%d", name, s%7, r)},
		"log":        map[string]any{"level": []string{"debug", "info", "warn"}[(s+r)%3]},
		"mysql":      map[string]any{"main": db("main", 3306), "replica": db("replica", 3307)},
		"redis":      map[string]any{"cache": map[string]any{"host": fmt.Sprintf("redis-%02d.%s.internal", s%10, region), "port": 6379, "db": s % 16, "pool": 32}},
		"kafka":      map[string]any{"events": map[string]any{"brokers": fmt.Sprintf("kafka-0.%s.internal:9092,kafka-1.%s.internal:9092", region, region), "topic": name + "-events", "group": name}},
		"http":       map[string]any{"timeout_ms": 1000 + 100*(s%10), "retries": 1 + s%3},
		"downstream": downstream,
		"feature":    feature,
	}
}

// leaves lists the value paths of the merged layers, sorted: what templates may refer to.
func leaves(layers ...map[string]any) []string {
	var paths []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			} else {
				paths = append(paths, prefix+k)
			}
		}
	}
	for _, l := range layers {
		walk("", l)
	}
	sort.Strings(paths)
	return slices.Compact(paths)
}

// template is template f of service s: lines lines in its format, every fifth value (8 in all) a placeholder.
func template(s, f int, paths []string) []byte {
	format := formats[f%len(formats)]
	var b strings.Builder
	title := fmt.Sprintf("%s file %02d, rendered by cac for every region", usn(s), f)
	body := lines - 1
	switch format {
	case "json":
		fmt.Fprintf(&b, "{\n  \"_comment\": %q,\n", title)
		body = lines - 3
	case "ini":
		fmt.Fprintf(&b, "; %s\n", title)
	default:
		fmt.Fprintf(&b, "# %s\n", title)
	}
	for i := 1; i <= body; i++ {
		section := fmt.Sprintf("section_%d", i/10)
		key := fmt.Sprintf("key_%02d", i)
		val := fmt.Sprintf("v%d-%d-%d", s, f, i)
		if i%5 == 2 {
			val = "^cac<<" + paths[(f*placeholders+i/5)%len(paths)] + ">>"
		}
		switch {
		case i%10 == 1 && format == "yaml":
			fmt.Fprintf(&b, "%s:\n", section)
		case i%10 == 1 && (format == "toml" || format == "ini"):
			fmt.Fprintf(&b, "[%s]\n", section)
		case format == "toml":
			fmt.Fprintf(&b, "%s = \"%s\"\n", key, val)
		case format == "yaml":
			fmt.Fprintf(&b, "  %s: %s\n", key, val)
		case format == "properties":
			fmt.Fprintf(&b, "%s.%s=%s\n", section, key, val)
		case format == "ini":
			fmt.Fprintf(&b, "%s = %s\n", key, val)
		case format == "json" && i < body:
			fmt.Fprintf(&b, "  \"%s.%s\": \"%s\",\n", section, key, val)
		case format == "json":
			fmt.Fprintf(&b, "  \"%s.%s\": \"%s\"\n}\n", section, key, val)
		}
	}
	return []byte(b.String())
}

// gomplateInput writes the first service's templates converted to gomplate syntax and its
// effective values per region, merged by pkg/values exactly as cac merges them.
func gomplateInput(out string, regions int) error {
	code := filepath.Join(out, "code", usn(0))
	err := filepath.WalkDir(code, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		tpl, problems := placeholder.Parse(src)
		if len(problems) > 0 {
			return fmt.Errorf("%s: %s", p, problems[0].Message)
		}
		var b []byte
		last := 0
		for _, ph := range tpl.Placeholders {
			b = append(b, src[last:ph.Start]...)
			b = append(b, "{{ .values."+ph.Path+" }}"...)
			last = ph.End
		}
		b = append(b, src[last:]...)
		rel, _ := filepath.Rel(code, p)
		return write(filepath.Join(out, "gomplate", "templates", strings.Replace(rel, "CacRegion_", "", 1)), b)
	})
	if err != nil {
		return err
	}
	fsys := os.DirFS(filepath.Join(out, "config"))
	for r := range regions {
		v, findings, err := values.Load(fsys, usn(0), regionName(r))
		if err != nil {
			return err
		}
		if len(findings) > 0 {
			return fmt.Errorf("%s: %s", regionName(r), findings[0].Message)
		}
		data, err := json.Marshal(v.Interface())
		if err != nil {
			return err
		}
		if err := write(filepath.Join(out, "gomplate", "values", regionName(r)+".json"), data); err != nil {
			return err
		}
	}
	return nil
}

func writeYAML(path string, v map[string]any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return write(path, data)
}

func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
