// Package scan is the anti-corruption scanner behind `cac scan`: it finds what should live in the
// config repo but is in the code repo — region and environment names used in logic, hard-coded
// addresses, and per-environment config files that are not CacRegion_ templates.
package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
)

// Rule ids of the findings Run returns.
const (
	RuleEnvCompare       = "scan/env-compare"       // a region/env name compared in code
	RuleHardcodedAddress = "scan/hardcoded-address" // an IP, host name or URL in a literal
	RulePerEnvFile       = "scan/per-env-file"      // a config file per region, not a CacRegion_ template
)

// Options say what to scan and what the config repo knows.
type Options struct {
	Root  string   // the code repo root; finding positions are relative to it (default ".")
	Paths []string // files or directories to scan, relative to Root (default: all of Root)
	// Regions are the region and environment names known from the config repo (sg-prod, us1, online).
	// Without them only addresses are checked. Matched without regard to case.
	Regions []string
	// KnownValues maps an address the config repo manages (IP, host, host:port, URL) to its value
	// path (mysql.main.ip). A literal holding one of them is an error, any other address a warning.
	// Give addresses only, never secret values. AddKnownAddresses builds it from values trees.
	KnownValues map[string]string
	// Exclude holds globs (path.Match syntax) of files and directories to skip: a pattern without
	// "/" matches a base name anywhere ("*_test.go"), one with "/" the path from Root ("docs/*");
	// "dir/**" skips everything under dir.
	Exclude []string
	// OutDir is cac build's output directory, relative to Root, never scanned (default "output/cac").
	OutDir string
}

// maxFileSize bounds what is read; larger files are generated or data, not hand-written code.
const maxFileSize = 4 << 20

// Run scans opt.Paths under opt.Root and returns the findings in report.Sort order.
// Unreadable roots, bad paths or bad globs are usage errors (exit 2).
func Run(ctx context.Context, opt Options) ([]report.Finding, error) {
	s, err := newScanner(opt)
	if err != nil {
		return nil, err
	}
	files, err := s.collect(ctx)
	if err != nil {
		return nil, err
	}
	// Each worker writes only its files' slots, so no lock is needed; the result keeps file order.
	results := make([][]report.Finding, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf buffers
			for i := range next {
				results[i], errs[i] = s.scanFile(files[i], &buf)
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	n := 0
	for _, r := range results {
		n += len(r)
	}
	findings := make([]report.Finding, 0, n)
	for _, r := range results {
		findings = append(findings, r...)
	}
	report.Sort(findings)
	return findings, nil
}

type scanner struct {
	root    string
	paths   []string
	regions []string          // lower case, longest first
	regionS map[string]bool   // lower case
	known   map[string]string // lower-cased value → value path
	exclude []string
	outDir  string
}

func newScanner(opt Options) (*scanner, error) {
	s := &scanner{root: opt.Root, paths: opt.Paths, regionS: map[string]bool{}, known: map[string]string{},
		exclude: opt.Exclude, outDir: path.Clean(filepath.ToSlash(opt.OutDir))}
	if s.root == "" {
		s.root = "."
	}
	if opt.OutDir == "" {
		s.outDir = "output/cac"
	}
	if len(s.paths) == 0 {
		s.paths = []string{"."}
	}
	if st, err := os.Stat(s.root); err != nil || !st.IsDir() {
		return nil, cacerr.Usage("scan root %s is not a readable directory", s.root)
	}
	for _, r := range opt.Regions {
		if r = strings.ToLower(strings.TrimSpace(r)); r != "" && !s.regionS[r] {
			s.regionS[r] = true
			s.regions = append(s.regions, r)
		}
	}
	// Longest first, so "sg-prod" wins over "prod" in app-sg-prod.yaml.
	sort.Slice(s.regions, func(i, j int) bool {
		if len(s.regions[i]) != len(s.regions[j]) {
			return len(s.regions[i]) > len(s.regions[j])
		}
		return s.regions[i] < s.regions[j]
	})
	for v, p := range opt.KnownValues {
		k := strings.ToLower(strings.TrimSpace(v))
		if k == "" {
			continue
		}
		if old, ok := s.known[k]; !ok || p < old {
			s.known[k] = p
		}
	}
	for _, g := range s.exclude {
		if _, err := path.Match(g, ""); err != nil {
			return nil, cacerr.Usage("bad --exclude pattern %q: %w", g, err)
		}
	}
	return s, nil
}

// collect lists the files to scan, relative to the root with forward slashes, each once.
func (s *scanner) collect(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var files []string
	for _, p := range s.paths {
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(s.root, p)
		}
		rel, err := filepath.Rel(s.root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, cacerr.Usage("scan path %s is outside the scan root %s", p, s.root)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, cacerr.Usage("scan path: %w", err)
		}
		err = filepath.WalkDir(abs, func(fp string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := filepath.Rel(s.root, fp)
			if err != nil {
				return err
			}
			r = filepath.ToSlash(r)
			if d.IsDir() {
				if fp != abs && s.skipDir(r) {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && !seen[r] && !s.skipFile(r) {
				seen[r] = true
				files = append(files, r)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, cacerr.Usage("scan %s: %w", p, err)
		}
	}
	return files, nil
}

func (s *scanner) skipDir(rel string) bool {
	base := path.Base(rel)
	return strings.HasPrefix(base, ".") || base == "vendor" || base == "node_modules" ||
		rel == s.outDir || s.excluded(rel)
}

func (s *scanner) skipFile(rel string) bool {
	base := path.Base(rel)
	return strings.HasPrefix(base, "CacRegion_") || base == ".cac.yaml" || lockFiles[base] ||
		strings.Contains(base, ".min.") || s.excluded(rel)
}

// lockFiles are generated dependency pins, full of registry URLs nobody writes by hand.
var lockFiles = map[string]bool{
	"go.sum": true, "package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true,
	"composer.lock": true, "Pipfile.lock": true, "poetry.lock": true, "Cargo.lock": true, "Gemfile.lock": true,
}

func (s *scanner) excluded(rel string) bool {
	for _, g := range s.exclude {
		if dir, ok := strings.CutSuffix(g, "/**"); ok && (rel == dir || strings.HasPrefix(rel, dir+"/")) {
			return true
		}
		target := rel
		if !strings.Contains(g, "/") {
			target = path.Base(rel)
		}
		if ok, _ := path.Match(g, target); ok {
			return true
		}
	}
	return false
}

// buffers are one worker's lexing buffers, reused from file to file.
type buffers struct {
	toks []token
	tk   tokens
}

// scanFile checks one file's name and, for known languages, its content.
func (s *scanner) scanFile(rel string, buf *buffers) ([]report.Finding, error) {
	var out []report.Finding
	sx := syntaxFor(rel)
	if sx == configSyntax {
		if f, ok := s.perEnvFile(rel); ok {
			out = append(out, f)
		}
	}
	if sx == nil {
		return out, nil
	}
	src, err := readSmall(filepath.Join(s.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, cacerr.Usage("scan: %w", err)
	}
	if src == nil {
		return out, nil // too large to be hand-written
	}
	if bytes.IndexByte(src[:min(len(src), 8000)], 0) >= 0 || bytes.HasPrefix(src, baselineMark) {
		return out, nil // binary, or a scan baseline (whose messages quote the accepted findings)
	}
	f := &file{rel: rel, src: src}
	text := string(src)
	buf.toks = sx.lex(text, buf.toks)
	indexed := false
	for i, t := range buf.toks {
		if t.kind != tString {
			continue
		}
		lit := t.text(text)
		if !sx.config && s.regionS[strings.ToLower(lit)] {
			if !indexed {
				buf.tk.index(text, buf.toks)
				indexed = true
			}
			if buf.tk.isComparedLiteral(i) {
				out = append(out, f.finding(int(t.off)-1, RuleEnvCompare, report.SeverityError, "", strings.ToLower(lit),
					fmt.Sprintf("region name %q is compared in code; behaviour that differs by region belongs in the "+
						"config repo: add a value to each region's YAML and read it through a CacRegion_ template", lit)))
			}
		}
		out = append(out, s.addresses(f, lit, int(t.off), sx.config)...)
	}
	return out, nil
}

// addresses reports the addresses in literal t: errors for those the config repo manages,
// warnings for the others. A code literal that is exactly a managed value is an error even when
// it does not look like an address.
func (s *scanner) addresses(f *file, lit string, litOff int, config bool) []report.Finding {
	found := findAddresses(lit, func() string { return f.lineText(litOff) })
	paths := make([]string, len(found))
	anyKnown := false
	for i, a := range found {
		for _, form := range a.forms {
			if p, ok := s.known[strings.ToLower(form)]; ok {
				paths[i], anyKnown = p, true
				break
			}
		}
	}
	if !anyKnown && !config {
		if p, ok := s.known[strings.ToLower(strings.TrimSpace(lit))]; ok {
			return []report.Finding{f.finding(litOff, RuleHardcodedAddress, report.SeverityError, p, "",
				managed("value", lit, p))}
		}
	}
	var out []report.Finding
	for i, a := range found {
		off := litOff + a.off
		if p := paths[i]; p != "" {
			out = append(out, f.finding(off, RuleHardcodedAddress, report.SeverityError, p, "", managed(string(a.kind), redact(a), p)))
			continue
		}
		if a.kind == kindHost && !s.envHost(a.text) {
			continue // a public name in passing (an API group, a forge's host) is not configuration
		}
		out = append(out, f.finding(off, RuleHardcodedAddress, report.SeverityWarning, "", "",
			fmt.Sprintf("hard-coded %s %q; if it differs between regions, put it in the config repo and "+
				"use a ^cac<<...>> placeholder in a CacRegion_ template", a.kind, redact(a))))
	}
	return out
}

// envHost reports whether a bare host name (no URL around it) deserves a warning: it carries a
// port, ends in an internal suffix (.internal, .svc, .corp ...), or has a region name as a label
// or label part (db-us1.corp.example, api.sg-prod.company.com).
func (s *scanner) envHost(text string) bool {
	host, port, _ := strings.Cut(strings.ToLower(text), ":")
	if port != "" || internalTLDs[host[strings.LastIndexByte(host, '.')+1:]] {
		return true
	}
	for _, r := range s.regions {
		if containsPart(strings.ReplaceAll(host, ".", "-"), r) {
			return true
		}
	}
	return false
}

func managed(kind, value, p string) string {
	return fmt.Sprintf("hard-coded %s %q: this address is managed in the config repo as %s; "+
		"use ^cac<<%s>> in a CacRegion_ template", kind, value, p, p)
}

// readSmall reads a file of at most maxFileSize bytes; a larger file gives nil, nil.
func readSmall(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() > maxFileSize {
		return nil, err
	}
	src := make([]byte, st.Size())
	n, err := io.ReadFull(f, src)
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return src[:n], nil
}

// perEnvFile reports a config file whose name or directory names a region: app-prod.yaml,
// application-sg.properties, config.online.toml, conf/us1/app.ini, .env.prod.
func (s *scanner) perEnvFile(rel string) (report.Finding, bool) {
	dir, base := path.Split(rel)
	lbase := strings.ToLower(base)
	region := ""
	for _, r := range s.regions {
		if containsPart(lbase, r) {
			region = r
			break
		}
	}
	if region == "" && dir != "" {
		for _, seg := range strings.Split(strings.ToLower(strings.TrimSuffix(dir, "/")), "/") {
			if s.regionS[seg] {
				region = seg
				break
			}
		}
	}
	if region == "" {
		return report.Finding{}, false
	}
	f := report.Finding{Pos: report.Pos{File: rel}, Region: region, Rule: RulePerEnvFile, Severity: report.SeverityError,
		Message: fmt.Sprintf("config file for region %s outside the config repo; per-region copies drift apart: keep "+
			"one CacRegion_ template and put what differs in the config repo's %s.yaml (cac import converts such files)",
			region, region)}
	f.Fingerprint = fingerprint(RulePerEnvFile, rel, "")
	return f, true
}

// containsPart reports whether name holds part as a whole piece between separators (- _ .).
func containsPart(name, part string) bool {
	for i := 0; ; {
		k := strings.Index(name[i:], part)
		if k < 0 {
			return false
		}
		a, b := i+k, i+k+len(part)
		if (a == 0 || isSep(name[a-1])) && (b == len(name) || isSep(name[b])) {
			return true
		}
		i = a + 1
	}
}

func isSep(c byte) bool { return c == '-' || c == '_' || c == '.' }

// file is one scanned file, with a lazily built line index for positions.
type file struct {
	rel   string
	src   []byte
	lines []int // byte offset of each line start
}

func (f *file) lineStart(off int) (line, start int) {
	if f.lines == nil {
		f.lines = append(f.lines, 0)
		for i, c := range f.src {
			if c == '\n' {
				f.lines = append(f.lines, i+1)
			}
		}
	}
	n := sort.SearchInts(f.lines, off+1) - 1
	return n + 1, f.lines[n]
}

func (f *file) lineText(off int) string {
	_, start := f.lineStart(off)
	end := bytes.IndexByte(f.src[start:], '\n')
	if end < 0 {
		end = len(f.src) - start
	}
	return string(f.src[start : start+end])
}

// finding builds a finding at byte offset off; the column counts characters, not bytes.
func (f *file) finding(off int, rule string, sev report.Severity, valuePath, region, msg string) report.Finding {
	line, start := f.lineStart(off)
	col := utf8.RuneCount(f.src[start:off]) + 1
	return report.Finding{
		Pos: report.Pos{File: f.rel, Line: line, Col: col}, Region: region, Path: valuePath,
		Rule: rule, Message: msg, Severity: sev,
		Fingerprint: fingerprint(rule, f.rel, strings.TrimSpace(f.lineText(off))),
	}
}

// fingerprint identifies a finding without its line number: rule, file and the trimmed text of
// its line, so a baseline survives code moving up or down.
func fingerprint(rule, file, text string) string {
	sum := sha256.Sum256([]byte(rule + "\x00" + file + "\x00" + text))
	return hex.EncodeToString(sum[:12])
}
