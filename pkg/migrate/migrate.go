// Package migrate implements `cac import`: it turns the per-region variants of a config file into one
// `CacRegion_` template plus the differing values in each region's file of the config repo.
//
// How a file is split (see docs/design.md §4, cac import):
//   - The variants are aligned line by line along a line diff against the first region (sorted by
//     name). Lines equal everywhere stay literal.
//   - On a differing line, values found by the format (YAML, JSON, TOML, INI, properties; an
//     assignment or `name value;` form in any other text) become placeholders named from their keys;
//     failing that, differing words with the same text around them; failing that, the differing middle
//     of the line (common prefix and suffix stay literal).
//   - Where the regions have different lines (a line present in one region only), the whole differing
//     block becomes one placeholder and a warning (rule import/structure, file:line) asks for a manual
//     merge. The result is still lossless.
//   - Secret-looking keys (password, secret, token, api_key, private_key, credential ...) always
//     become placeholders, even when equal everywhere, so no secret stays in the code repo; secret
//     paths are listed, their values never printed. Every other value equal in every region stays
//     literal.
//
// Naming: a database or redis host/port/user/password/database key maps to the standard's
// mysql.<tag>.ip|domain|port|username|password|database (redis.<tag>... likewise; the tag comes from
// the section, else main); --map overrides; anything else goes under <root>.<key path> (root
// "extend" by default, where the shipped standard accepts free-form keys). Text files use the
// nearest identifier before a value: <root>.<file stem>.<identifier>, else .line<N>. A path already
// holding another value in a region file gets a _2, _3 ... suffix; equal values share one path.
//
// Import verifies its own result before writing anything: every region's values file is parsed with
// values.Parse (layered over _global/<region>.yaml when present) and the template rendered with it
// must equal the original bytes. Files are then written aside and renamed into place.
package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/placeholder"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/sops"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
)

// TemplatePrefix starts the base name of every template (docs/design.md §1).
const TemplatePrefix = "CacRegion_"

// RegionToken marks the region name in a --pattern.
const RegionToken = "{region}"

// Options of one import.
type Options struct {
	CodeDir   string // code repo root; Pattern, Pairs and Template are relative to it
	ConfigDir string // config repo root
	USN       string // service directory in the config repo; empty for a single-service repo
	// Pattern names the variants, e.g. conf/app.{region}.toml; {region} matches a region name.
	Pattern string
	// Pairs lists the variants explicitly: file → region (used when Pattern is empty).
	Pairs map[string]string
	// Template overrides the template's path (default: the pattern without {region}, base name
	// prefixed with CacRegion_).
	Template string
	// Map renames placeholder paths: old → new; old matches a whole path or a prefix of segments,
	// either the derived path (app.db.url) or the file's own key (db.url).
	Map map[string]string
	// Root is the subtree for the service's own settings (default DefaultRoot, "extend", where the
	// shipped standard accepts free-form keys).
	Root string
	// Standard decides where a value may take a standard path (mysql.<tag>.username ...): only where
	// it and its siblings satisfy the standard's rules; else it goes under Root. Nil: the built-in one.
	Standard *standard.Standard
	DryRun   bool
	Stderr   io.Writer // warnings and a summary; nil for silence
}

// Placeholder is one placeholder written into the template.
type Placeholder struct {
	Path   string `json:"path"`
	Line   int    `json:"line"` // line in the template
	Secret bool   `json:"secret,omitempty"`
}

// Source is one variant that was imported.
type Source struct {
	File   string `json:"file"`
	Region string `json:"region"`
}

// Result of one import. Paths are relative with forward slashes: the template to the code repo,
// region files to the config repo.
type Result struct {
	Template     string        `json:"template"`
	Format       Format        `json:"format"`
	Sources      []Source      `json:"sources"`
	Placeholders []Placeholder `json:"placeholders"`
	Secrets      []string      `json:"secrets,omitempty"` // paths only, never values
	// Encrypted are the region files written SOPS-encrypted (.sops.yaml's creation rule for them)
	Encrypted   []string         `json:"encrypted,omitempty"`
	RegionFiles []string         `json:"regionFiles"`
	Warnings    []report.Finding `json:"warnings,omitempty"`
	Written     bool             `json:"written"` // false for a dry run or when there was nothing to do
}

// VerifyError means the computed template and values would not reproduce an original file; nothing
// was written. It is a finding (exit 1): the file needs a manual merge.
type VerifyError struct {
	File   string // the original variant, relative to the code repo
	Region string
	Line   int // first differing line
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("%s:%d: [%s] import would not reproduce this file (%s); nothing was written: merge this file by hand",
		e.File, e.Line, e.Region, e.Reason)
}

// Import converts one set of variants. It computes and verifies everything in memory, then writes
// the template and the region files (unless DryRun).
func Import(ctx context.Context, o Options) (*Result, error) {
	st := newStage(nil)
	res, err := importInto(ctx, st, o)
	if err != nil {
		return nil, err
	}
	if !o.DryRun {
		if err := st.commit(); err != nil {
			return nil, err
		}
		res.Written = len(st.files) > 0
	}
	printResult(o.Stderr, res)
	return res, nil
}

func importInto(ctx context.Context, st *stage, o Options) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.CodeDir == "" {
		o.CodeDir = "."
	}
	if o.ConfigDir == "" {
		return nil, cacerr.Usage("import: the config repo directory is not set (--config-dir)")
	}
	if o.USN != "" && (values.Reserved(o.USN) || sanitize(o.USN) != o.USN) {
		return nil, cacerr.Usage("import: --usn %q: use letters, digits, _ and -, not starting with _", o.USN)
	}
	if o.Root == "" {
		o.Root = DefaultRoot
	}
	if err := checkPath(o.Root); err != nil || strings.Contains(o.Root, ".") {
		return nil, cacerr.Usage("import: --root %q: one path segment of letters, digits, _ and -", o.Root)
	}
	for from, to := range o.Map {
		if err := checkPath(to); err != nil {
			return nil, cacerr.Usage("import: --map %s=%s: %w", from, to, err)
		}
	}
	srcs, tmpl, err := discover(o)
	if err != nil {
		return nil, err
	}
	res := &Result{Template: tmpl, Format: DetectFormat(tmpl), Sources: srcs}
	vs := make([]*variant, len(srcs))
	for i, s := range srcs {
		data, err := os.ReadFile(filepath.Join(o.CodeDir, filepath.FromSlash(s.File)))
		if err != nil {
			return nil, cacerr.Usage("import: %w", err)
		}
		vs[i] = &variant{region: s.Region, file: s.File, data: data}
	}
	regions := make([]string, len(vs))
	for i, v := range vs {
		regions[i] = v.region
	}
	docs, err := loadRegionDocs(st, o, regions)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		res.RegionFiles = append(res.RegionFiles, d.rel)
	}
	if len(vs) == 1 {
		res.Warnings = append(res.Warnings, warning(vs[0].file, 0, "import/one-region",
			"only one region found: every value stays literal except secrets; add the other regions' files"))
	}
	globals, err := loadGlobals(st, o, regions)
	if err != nil {
		return nil, err
	}
	std := o.Standard
	if std == nil {
		if std, err = standard.Default(); err != nil {
			return nil, err
		}
	}
	c, err := compute(vs, res.Format, namer{root: o.Root, maps: o.Map, std: std, usn: o.USN}, docs, globals)
	if err != nil {
		return nil, err
	}
	res.Warnings = append(res.Warnings, c.warns...)
	if c.template == nil {
		res.Warnings = append(res.Warnings, warning(vs[0].file, 0, "import/identical",
			"the regions' files are identical: nothing differs, so nothing was imported"))
		res.Placeholders = []Placeholder{}
		return res, nil
	}
	template, files := c.template, c.files
	for _, p := range c.out.placeholderLines() {
		res.Placeholders = append(res.Placeholders, p)
		if p.Secret && !contains(res.Secrets, p.Path) {
			res.Secrets = append(res.Secrets, p.Path)
		}
	}
	sort.Strings(res.Secrets)
	if n := underRoot(res.Placeholders, o.Root); n > 0 && o.Root == DefaultRoot {
		res.Warnings = append(res.Warnings, warning(tmpl, 0, "import/extend", fmt.Sprintf(
			"%d values went under %s: the standard accepts them only for services listed in its whitelist; add this service there, or move them to standard paths with --map", n, o.Root)))
	}
	tmplAbs := filepath.Join(o.CodeDir, filepath.FromSlash(tmpl))
	if old, ok, err := st.read(tmplAbs); err != nil {
		return nil, cacerr.Usage("import: %w", err)
	} else if ok && !bytes.Equal(old, template) {
		return nil, cacerr.Usage("import: %s already exists with other content; remove it or pass another template path", tmpl)
	}
	if err := sealSecrets(st, o, docs, files, res); err != nil {
		return nil, err
	}
	st.put(tmplAbs, template)
	for abs, data := range files {
		st.put(abs, data)
	}
	return res, nil
}

// sealSecrets encrypts every region file import writes that holds a secret when the config repo's
// .sops.yaml has a creation rule for it, so that no secret lands there in plain text. A rule that would leave a secret in plain text is refused, and so is an edit
// of a file that is already encrypted (its MAC would break: set such values with cac secret set).
func sealSecrets(st *stage, o Options, docs []*regionDoc, files map[string][]byte, res *Result) error {
	for _, d := range docs {
		if _, ok := files[d.abs]; ok && d.orig != nil && sops.IsEncrypted(d.orig) {
			return cacerr.Usage("import: %s is encrypted with sops and import would change it; import into a plain file, then encrypt the values with cac secret set", d.rel)
		}
	}
	if len(res.Secrets) == 0 {
		return nil
	}
	cfg, ok, err := st.read(filepath.Join(o.ConfigDir, ".sops.yaml"))
	if err != nil {
		return cacerr.Usage("import: %w", err)
	}
	if !ok {
		return nil
	}
	for _, d := range docs {
		data, ok := files[d.abs]
		if !ok {
			continue
		}
		rule, err := sops.ConfigRule(cfg, d.rel)
		if err != nil {
			return cacerr.Usage("import: %w", err)
		}
		if rule == nil || len(rule.Recipients) == 0 {
			continue
		}
		var plain []string
		for _, p := range res.Secrets {
			if !rule.Encrypts(strings.Split(p, ".")) {
				plain = append(plain, p)
			}
		}
		if len(plain) > 0 {
			return cacerr.Usage("import: the .sops.yaml creation rule for %s would leave %s in plain text; make its encrypted_regex cover them", d.rel, strings.Join(plain, ", "))
		}
		if files[d.abs], err = sops.EncryptFile(d.rel, data, rule, time.Now()); err != nil {
			return err
		}
		res.Encrypted = append(res.Encrypted, d.rel)
	}
	sort.Strings(res.Encrypted)
	return nil
}

func underRoot(ps []Placeholder, root string) int {
	seen := map[string]bool{}
	for _, p := range ps {
		if strings.HasPrefix(p.Path, root+".") {
			seen[p.Path] = true
		}
	}
	return len(seen)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func warning(file string, line int, rule, msg string) report.Finding {
	return report.Finding{Pos: report.Pos{File: file, Line: line}, Rule: rule, Message: msg, Severity: report.SeverityWarning}
}

// computed is an import done in memory and verified: the template (nil when the variants are
// identical), its pieces and the region files to write (absolute path → content).
type computed struct {
	template []byte
	out      output
	warns    []report.Finding
	files    map[string][]byte
}

// compute splits the variants (sorted by region; docs and globals in the same order), assigns value
// paths in the region files and verifies that every variant is reproduced.
func compute(vs []*variant, f Format, nm namer, docs []*regionDoc, globals []*values.Node) (*computed, error) {
	out, holes, warns := split(vs, f, nm)
	c := &computed{out: out, warns: warns}
	if len(holes) == 0 {
		return c, nil
	}
	if err := fitStandard(holes, docs, globals, vs, nm); err != nil {
		return nil, cacerr.Wrap(cacerr.KindFindings, err)
	}
	if err := assign(holes, docs, vs); err != nil {
		return nil, cacerr.Wrap(cacerr.KindFindings, err)
	}
	for _, h := range holes {
		if h.note != nil {
			w := *h.note
			w.Path = h.path
			c.warns = append(c.warns, w)
		}
	}
	c.template = out.render()
	files, err := verify(vs, c.template, docs, globals)
	if err != nil {
		return nil, cacerr.Wrap(cacerr.KindFindings, err)
	}
	c.files = files
	return c, nil
}

// loadGlobals reads _global/<region>.yaml of every region (nil where there is none).
func loadGlobals(st *stage, o Options, regions []string) ([]*values.Node, error) {
	gs := make([]*values.Node, len(regions))
	for i, r := range regions {
		rel := path.Join(values.GlobalDir, r+".yaml")
		data, ok, err := st.read(filepath.Join(o.ConfigDir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, cacerr.Usage("import: %w", err)
		}
		if !ok {
			continue
		}
		n, finds := values.Parse(rel, data)
		if len(finds) > 0 {
			return nil, cacerr.Usage("import: %s", finds[0])
		}
		gs[i] = n
	}
	return gs, nil
}

// output is the computed template: literal pieces and holes with their assigned paths.
type output struct{ pieces []piece }

func (o output) render() []byte {
	var b bytes.Buffer
	for _, p := range o.pieces {
		if p.hole == nil {
			b.Write(p.literal)
			continue
		}
		b.WriteString(placeholder.Marker + "<<" + p.hole.path + ">>")
	}
	return b.Bytes()
}

func (o output) placeholderLines() []Placeholder {
	var ps []Placeholder
	line := 1
	for _, p := range o.pieces {
		if p.hole == nil {
			line += bytes.Count(p.literal, []byte("\n"))
			continue
		}
		ps = append(ps, Placeholder{Path: p.hole.path, Line: line, Secret: p.hole.secret})
	}
	return ps
}

// split computes the template pieces of the variants, sorted by region.
func split(vs []*variant, f Format, nm namer) (output, []*hole, []report.Finding) {
	var warns []report.Finding
	for _, v := range vs {
		if !v.scan(f) {
			warns = append(warns, warning(v.file, 0, "import/parse",
				fmt.Sprintf("the file does not parse as %s; it was compared as plain text lines", f)))
		}
	}
	b := &builder{vs: vs, namer: nm}
	if f == FormatText || len(warns) > 0 {
		b.prefix = []string{sanitize(stem(vs[0].file, vs[0].region))}
	}
	b.run()
	var holes []*hole
	for _, p := range b.pieces {
		if p.hole != nil {
			holes = append(holes, p.hole)
		}
	}
	return output{pieces: b.pieces}, holes, warns
}

// stem is a file's base name without extension and region: nginx.sg.conf → nginx; a dotfile's
// name without its dot: .env.sg → env.
func stem(file, region string) string {
	base := strings.TrimLeft(path.Base(file), ".")
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	base = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, "-"+region), "_"+region), "."+region)
	if base == "" || base == region {
		return "file"
	}
	return base
}

// assign gives every hole a free path: equal holes share one; a path already holding another value in
// any region file (or blocked by one) is skipped for the next candidate.
func assign(holes []*hole, docs []*regionDoc, vs []*variant) error {
	type taken struct{ values []string }
	used := map[string]taken{}
	for _, h := range holes {
		if h.rule.std && strings.HasSuffix(h.rule.path, ".ip") && !allIPs(h.values) {
			h.rule.path = strings.TrimSuffix(h.rule.path, ".ip") + ".domain" // the standard's ip must be an IP
		}
		for n := 0; ; n++ {
			p, ok := h.rule.candidate(n)
			if !ok {
				return fmt.Errorf("import: %s:%d: no free value path for %s", vs[0].file, h.at[0], h.rule.path)
			}
			if t, ok := used[p]; ok {
				if sameStrings(t.values, h.values) {
					h.path = p
					break
				}
				continue
			}
			free := true
			for k, d := range docs {
				if d.lookup(p, h.values[k]) == slotTaken {
					free = false
					break
				}
			}
			if !free {
				continue
			}
			for k, d := range docs {
				if d.lookup(p, h.values[k]) == slotEqual {
					continue
				}
				node, err := scalarFor(h.values[k])
				if err != nil {
					return &VerifyError{File: vs[k].file, Region: d.region, Line: h.at[k], Reason: err.Error()}
				}
				d.set(p, node)
			}
			used[p] = taken{values: h.values}
			h.path = p
			break
		}
	}
	return nil
}

func allIPs(vs []string) bool {
	for _, v := range vs {
		if net.ParseIP(v) == nil {
			return false
		}
	}
	return true
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// loadRegionDocs opens (or starts) <usn>/<region>.yaml for every region.
func loadRegionDocs(st *stage, o Options, regions []string) ([]*regionDoc, error) {
	docs := make([]*regionDoc, len(regions))
	dir := values.ServiceDir(o.USN)
	for i, r := range regions {
		rel := path.Join(dir, r+".yaml")
		abs := filepath.Join(o.ConfigDir, filepath.FromSlash(rel))
		data, ok, err := st.read(abs)
		if err != nil {
			return nil, cacerr.Usage("import: %w", err)
		}
		if !ok {
			alt := filepath.Join(o.ConfigDir, filepath.FromSlash(path.Join(dir, r+".yml")))
			if d, ok2, err := st.read(alt); err == nil && ok2 {
				rel, abs, data, ok = path.Join(dir, r+".yml"), alt, d, true
			}
		}
		if ok {
			if _, finds := values.Parse(rel, data); len(finds) > 0 {
				return nil, cacerr.Usage("import: fix %s first: %s", rel, finds[0])
			}
		}
		d, err := newRegionDoc(r, rel, abs, data, ok)
		if err != nil {
			return nil, cacerr.Usage("import: %w", err)
		}
		docs[i] = d
	}
	return docs, nil
}

// verify renders the template with every region's new values (over _global/<region>.yaml) and
// compares with the original bytes. It returns the region files to write.
func verify(vs []*variant, template []byte, docs []*regionDoc, globals []*values.Node) (map[string][]byte, error) {
	tmpl, probs := placeholder.Parse(template)
	if len(probs) > 0 {
		return nil, &VerifyError{File: vs[0].file, Region: vs[0].region, Line: probs[0].Line, Reason: "template: " + probs[0].Message}
	}
	files := map[string][]byte{}
	for k, v := range vs {
		d := docs[k]
		data, err := d.bytes()
		if err != nil {
			return nil, err
		}
		n, finds := values.Parse(d.rel, data)
		if len(finds) > 0 {
			return nil, &VerifyError{File: v.file, Region: v.region, Line: 1, Reason: "region file: " + finds[0].String()}
		}
		eff := values.Merge(globals[k], n)
		got, rprobs := tmpl.Render(func(p string) (string, error) {
			s, _, err := eff.Leaf(p)
			return s, err
		})
		if len(rprobs) > 0 {
			return nil, &VerifyError{File: v.file, Region: v.region, Line: rprobs[0].Line, Reason: rprobs[0].Message}
		}
		if !bytes.Equal(got, v.data) {
			return nil, &VerifyError{File: v.file, Region: v.region, Line: firstDiffLine(got, v.data), Reason: "rendered text differs"}
		}
		if d.changed || d.orig == nil {
			files[d.abs] = data
		}
	}
	return files, nil
}

func firstDiffLine(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return 1 + bytes.Count(b[:i], []byte("\n"))
}

func printResult(w io.Writer, r *Result) {
	if w == nil || r == nil {
		return
	}
	for _, f := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", f)
	}
	for _, p := range r.Secrets {
		fmt.Fprintf(w, "secret: %s (mark it secret: true in the standard)\n", p)
	}
	for _, f := range r.Encrypted {
		fmt.Fprintf(w, "encrypted: %s (sops, for the recipients of its .sops.yaml creation rule)\n", f)
	}
	verb := "would write"
	if r.Written {
		verb = "wrote"
	}
	if len(r.Placeholders) > 0 {
		fmt.Fprintf(w, "%s %s (%d placeholders, %d secrets) and %s\n", verb, r.Template, len(r.Placeholders), len(r.Secrets), strings.Join(r.RegionFiles, ", "))
	}
}

// stage holds files to write, over the disk (and over a parent stage, in a batch).
type stage struct {
	parent *stage
	files  map[string][]byte
}

func newStage(parent *stage) *stage { return &stage{parent: parent, files: map[string][]byte{}} }

func (s *stage) put(abs string, data []byte) { s.files[filepath.Clean(abs)] = data }

func (s *stage) read(abs string) ([]byte, bool, error) {
	abs = filepath.Clean(abs)
	for c := s; c != nil; c = c.parent {
		if d, ok := c.files[abs]; ok {
			return d, true, nil
		}
	}
	d, err := os.ReadFile(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return d, true, nil
}

// merge moves a child's files into s.
func (s *stage) merge(child *stage) {
	for k, v := range child.files {
		s.files[k] = v
	}
}

// commit writes every file aside (same directory), then renames them all into place.
func (s *stage) commit() error {
	names := make([]string, 0, len(s.files))
	for k := range s.files {
		names = append(names, k)
	}
	sort.Strings(names)
	temps := make([]string, 0, len(names))
	cleanup := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for _, name := range names {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			cleanup()
			return cacerr.Usage("import: %w", err)
		}
		mode := fs.FileMode(0o644)
		if fi, err := os.Stat(name); err == nil {
			mode = fi.Mode().Perm()
		}
		f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".cac-import-*")
		if err != nil {
			cleanup()
			return cacerr.Usage("import: %w", err)
		}
		temps = append(temps, f.Name())
		_, werr := f.Write(s.files[name])
		cerr := f.Close()
		if err := errors.Join(werr, cerr, os.Chmod(f.Name(), mode)); err != nil {
			cleanup()
			return cacerr.Usage("import: write %s: %w", name, err)
		}
	}
	for i, name := range names {
		if err := os.Rename(temps[i], name); err != nil {
			for _, t := range temps[i:] {
				os.Remove(t)
			}
			return cacerr.Usage("import: %d of %d files were written before %s failed: %w", i, len(names), name, err)
		}
	}
	return nil
}
