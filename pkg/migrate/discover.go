package migrate

import (
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/values"
)

const regionName = `[A-Za-z0-9][A-Za-z0-9_-]*`

var validRegion = regexp.MustCompile(`^` + regionName + `$`)

// discover finds the variants (sorted by region) and the template path.
func discover(o Options) ([]Source, string, error) {
	var srcs []Source
	pattern := o.Pattern
	switch {
	case o.Pattern != "" && len(o.Pairs) > 0:
		return nil, "", cacerr.Usage("import: give either --pattern or --file pairs, not both")
	case o.Pattern != "":
		if strings.Count(pattern, RegionToken) != 1 {
			return nil, "", cacerr.Usage("import: --pattern %q must contain %s exactly once, e.g. conf/app.%s.toml", pattern, RegionToken, RegionToken)
		}
		var err error
		if srcs, err = glob(o.CodeDir, filepath.ToSlash(pattern)); err != nil {
			return nil, "", err
		}
		if len(srcs) == 0 {
			return nil, "", cacerr.Usage("import: no file matches --pattern %q in %s", pattern, o.CodeDir)
		}
	case len(o.Pairs) > 0:
		for f, r := range o.Pairs {
			if filepath.IsAbs(f) {
				rel, err := filepath.Rel(o.CodeDir, f)
				if err != nil || strings.HasPrefix(rel, "..") {
					return nil, "", cacerr.Usage("import: --file %s is outside the code repo %s", f, o.CodeDir)
				}
				f = rel
			}
			f = path.Clean(filepath.ToSlash(f))
			p, ok := patternOf(f, r)
			if !ok {
				p = ""
			}
			if pattern != "" && p != pattern {
				pattern = "?"
			} else if pattern == "" {
				pattern = p
			}
			srcs = append(srcs, Source{File: f, Region: r})
		}
	default:
		return nil, "", cacerr.Usage("import: name the files: --pattern 'conf/app.%s.toml' or --file conf/app-sg.toml=sg ...", RegionToken)
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Region < srcs[j].Region })
	for i, s := range srcs {
		if !validRegion.MatchString(s.Region) || values.Reserved(s.Region) {
			return nil, "", cacerr.Usage("import: region %q (for %s): use letters, digits, _ and -", s.Region, s.File)
		}
		if i > 0 && srcs[i-1].Region == s.Region {
			return nil, "", cacerr.Usage("import: region %q is given twice (%s and %s)", s.Region, srcs[i-1].File, s.File)
		}
	}
	tmpl := filepath.ToSlash(o.Template)
	if tmpl == "" {
		if pattern == "" || pattern == "?" {
			return nil, "", cacerr.Usage("import: cannot derive one template name from the files' names; pass the template path")
		}
		tmpl = templatePath(pattern)
		if tmpl == "" {
			return nil, "", cacerr.Usage("import: cannot derive a template name from %q; pass the template path", pattern)
		}
	}
	if !strings.HasPrefix(path.Base(tmpl), TemplatePrefix) {
		return nil, "", cacerr.Usage("import: template %q: its base name must start with %s", tmpl, TemplatePrefix)
	}
	return srcs, tmpl, nil
}

// glob lists the files matching a pattern with one {region}.
func glob(dir, pattern string) ([]Source, error) {
	i := strings.Index(pattern, RegionToken)
	re, err := regexp.Compile("^" + regexp.QuoteMeta(pattern[:i]) + "(" + regionName + ")" + regexp.QuoteMeta(pattern[i+len(RegionToken):]) + "$")
	if err != nil {
		return nil, cacerr.Usage("import: --pattern %q: %w", pattern, err)
	}
	g := strings.Replace(pattern, RegionToken, "*", 1)
	matches, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(g)))
	if err != nil {
		return nil, cacerr.Usage("import: --pattern %q: %w", pattern, err)
	}
	var srcs []Source
	for _, m := range matches {
		rel, err := filepath.Rel(dir, m)
		if err != nil {
			continue
		}
		rel = filepath.ToSlash(rel)
		sm := re.FindStringSubmatch(rel)
		if sm == nil || strings.HasPrefix(path.Base(rel), TemplatePrefix) {
			continue
		}
		srcs = append(srcs, Source{File: rel, Region: sm[1]})
	}
	return srcs, nil
}

// patternOf replaces the region in a file name (a whole directory, or a part of the base name
// bounded by . - _) with {region}.
func patternOf(file, region string) (string, bool) {
	dir, base := path.Split(file)
	segs := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i] == region && dir != "" {
			segs[i] = RegionToken
			return strings.Join(segs, "/") + "/" + base, true
		}
	}
	isSep := func(b byte) bool { return b == '.' || b == '-' || b == '_' }
	for i := strings.LastIndex(base, region); i >= 0; i = strings.LastIndex(base[:i], region) {
		j := i + len(region)
		if (i == 0 || isSep(base[i-1])) && (j == len(base) || isSep(base[j])) {
			return dir + base[:i] + RegionToken + base[j:], true
		}
		if i == 0 {
			break
		}
	}
	return "", false
}

// templatePath drops {region} (with one separator next to it) from a pattern and prefixes the base
// name with CacRegion_: conf/app.{region}.toml → conf/CacRegion_app.toml, .env.{region} →
// CacRegion_.env.
func templatePath(pattern string) string {
	p := pattern
	switch {
	case strings.Contains(p, "/"+RegionToken+"/"):
		p = strings.Replace(p, "/"+RegionToken+"/", "/", 1)
	case strings.HasPrefix(p, RegionToken+"/"):
		p = strings.TrimPrefix(p, RegionToken+"/")
	default:
		done := false
		for _, sep := range []string{".", "-", "_"} {
			if strings.Contains(p, sep+RegionToken) {
				p, done = strings.Replace(p, sep+RegionToken, "", 1), true
				break
			}
		}
		if !done {
			for _, sep := range []string{".", "-", "_"} {
				if strings.Contains(p, RegionToken+sep) {
					p, done = strings.Replace(p, RegionToken+sep, "", 1), true
					break
				}
			}
		}
		if !done {
			return ""
		}
	}
	dir, base := path.Split(p)
	if strings.Trim(base, ".") == "" {
		return ""
	}
	return dir + TemplatePrefix + base
}
