package envs

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/sops"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
	"github.com/cacproj/cac/pkg/yamlnode"
)

// DefaultImageKey is where env copy writes the images the stable region runs: deploy.image.<container>,
// which the default standard (rules/standard.yaml) defines for every service, so a copy validates
// wherever its source does (extend is open to whitelisted services only).
const DefaultImageKey = "deploy.image"

// CopyOptions say what env copy copies.
type CopyOptions struct {
	From, To string
	// Services limits the copy to these services (default: every service with a From file). The
	// _global file is copied with all services, or with some when To has no _global file yet.
	Services []string
	// Set holds key=value overrides (dotted key; the value read as a YAML scalar). A key is set in
	// _global/<To>.yaml and in every copied service file where it is written; a key written nowhere
	// goes to _global/<To>.yaml when it is copied, else to every service file.
	Set []string
	// Force overwrites files To already has.
	Force bool
	// Images are the images the From region runs, usn → container → image (ReadImages); each copied
	// service gets its own under ImageKey as a mapping container → image, one entry per container.
	Images   map[string]map[string]string
	ImageKey string // default DefaultImageKey
	// Standard, when set, masks overrides of its secret leaves in the report.
	Standard *standard.Standard
	// Keys open SOPS-encrypted source files, which the copy writes encrypted again for the same
	// recipients (with a fresh data key); without an identity such a file is copied unchanged only.
	Keys *sops.Keys
}

// Override is one --set applied.
type Override struct {
	Key   string   `json:"key"`
	Value string   `json:"value"`
	Files []string `json:"files"`
}

// ImagePin is the image (or images) written into one copied service file.
type ImagePin struct {
	USN    string            `json:"usn"`
	File   string            `json:"file"`
	Key    string            `json:"key"`
	Images map[string]string `json:"images"` // container → image
}

// CopyReport says what env copy wrote.
type CopyReport struct {
	From      string     `json:"from"`
	To        string     `json:"to"`
	Services  []string   `json:"services"`
	Files     []string   `json:"files"`
	Overrides []Override `json:"overrides,omitempty"`
	Images    []ImagePin `json:"images,omitempty"`
	Warnings  []string   `json:"warnings,omitempty"`
	Result
}

// Result is where generated files went.
type Result struct {
	DryRun      bool   `json:"dryRun,omitempty"`
	Branch      string `json:"branch,omitempty"`
	Base        string `json:"base,omitempty"`
	Commit      string `json:"commit,omitempty"`
	Pushed      bool   `json:"pushed,omitempty"`
	PullRequest string `json:"pullRequest,omitempty"`
}

// PlanCopy computes env copy's files (slash path → content) from a config repo's files, without
// writing anything. Unknown regions, services and overrides are usage errors; files To already has
// are a usage error naming them unless Force.
func PlanCopy(fsys fs.FS, o CopyOptions) (*CopyReport, map[string][]byte, error) {
	if err := checkRegionNames(o.From, o.To); err != nil {
		return nil, nil, err
	}
	lay, err := ReadLayout(fsys)
	if err != nil {
		return nil, nil, cacerr.Wrap(cacerr.KindUsage, err)
	}
	sel, err := selectServices(lay, o.From, o.Services)
	if err != nil {
		return nil, nil, err
	}
	sets, err := parseSets(o.Set)
	if err != nil {
		return nil, nil, err
	}
	rep := &CopyReport{From: o.From, To: o.To, Services: sel}
	type file struct {
		src, dst string
		in       *regionSource
		d        *doc
		edited   bool
		global   bool
	}
	var files []*file
	if g, ok := lay.Globals[o.From]; ok {
		_, exists := lay.Globals[o.To]
		if len(o.Services) == 0 || !exists {
			files = append(files, &file{src: g, dst: target(g, o.To), global: true})
		}
	}
	for _, usn := range sel {
		src := lay.Services[usn][o.From]
		files = append(files, &file{src: src, dst: target(src, o.To)})
	}
	if err := refuseExisting(fsys, o.Force, func(yield func(string)) {
		for _, f := range files {
			yield(f.dst)
		}
	}); err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		if f.in, err = readRegionSource(fsys, f.src, o.Keys); err != nil {
			return nil, nil, err
		}
	}
	parsed := func(f *file) (*doc, error) {
		if f.d == nil {
			d, err := parseDoc(f.src, f.in.data)
			if err != nil {
				return nil, cacerr.Wrap(cacerr.KindUsage, err)
			}
			f.d = d
		}
		return f.d, nil
	}
	edit := func(f *file, why string) (*doc, error) {
		if err := f.in.editable(why); err != nil {
			return nil, err
		}
		f.edited = true
		return parsed(f)
	}
	for _, s := range sets {
		ov := Override{Key: s.key, Value: s.value.Value}
		if o.Standard != nil {
			if r := o.Standard.Leaf(s.key); r != nil && r.Secret {
				ov.Value = Mask
			}
		}
		var where []*file
		for _, f := range files {
			d, err := parsed(f)
			if err != nil {
				return nil, nil, err
			}
			if d.get(s.key) != nil {
				where = append(where, f)
			}
		}
		if len(where) == 0 {
			for _, f := range files {
				if f.global {
					where = []*file{f}
				}
			}
		}
		if len(where) == 0 {
			where = files
		}
		for _, f := range where {
			d, err := edit(f, "--set "+s.key)
			if err != nil {
				return nil, nil, err
			}
			v := *s.value
			d.set(s.key, &v)
			if f.in.opened != nil && f.in.opened.Encrypts(strings.Split(s.key, ".")) {
				ov.Value = Mask // written encrypted: never shown
			}
			ov.Files = append(ov.Files, f.dst)
		}
		rep.Overrides = append(rep.Overrides, ov)
	}
	if o.Images != nil {
		key := o.ImageKey
		if key == "" {
			key = DefaultImageKey
		}
		for _, f := range files {
			if f.global {
				continue
			}
			usn := serviceOf(f.src)
			imgs := o.Images[usn]
			if len(imgs) == 0 {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("no image of %s is published for %s in the GitOps repo; %s keeps no pinned image", displayUSN(usn), o.From, f.dst))
				continue
			}
			d, err := edit(f, "pinning its images")
			if err != nil {
				return nil, nil, err
			}
			d.set(key, imageNode(imgs))
			rep.Images = append(rep.Images, ImagePin{USN: usn, File: f.dst, Key: key, Images: imgs})
		}
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		var edited []byte // nil: unchanged, copied byte for byte (comments and layout kept)
		if f.edited {
			if edited, err = f.d.bytes(); err != nil {
				return nil, nil, cacerr.Usage("write %s: %w", f.dst, err)
			}
		}
		if out[f.dst], err = f.in.output(f.dst, edited); err != nil {
			return nil, nil, err
		}
		rep.Files = append(rep.Files, f.dst)
	}
	sort.Strings(rep.Files)
	return rep, out, nil
}

// imageNode is the mapping container → image written under the image key.
func imageNode(imgs map[string]string) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, c := range sortedKeys(imgs) {
		m.Content = append(m.Content, yamlnode.Encode(c), yamlnode.Encode(imgs[c]))
	}
	return m
}

// target is the To file beside a From file, with the same extension.
func target(src, to string) string {
	return path.Join(path.Dir(src), to+path.Ext(src))
}

func serviceOf(file string) string {
	if d := path.Dir(file); d != "." {
		return d
	}
	return ""
}

func displayUSN(usn string) string {
	if usn == "" {
		return "the service"
	}
	return usn
}

func checkRegionNames(names ...string) error {
	for _, n := range names {
		if n == "" || values.Reserved(n) || strings.ContainsAny(n, `/\`) || strings.TrimSpace(n) != n {
			return cacerr.Usage("%q is not a region name: use letters, digits, dashes (no / and no leading _ or .)", n)
		}
	}
	if len(names) == 2 && names[0] == names[1] {
		return cacerr.Usage("the source and target region are both %q", names[0])
	}
	return nil
}

// selectServices returns the services (sorted) that have a from file, limited to want when given.
func selectServices(lay *Layout, from string, want []string) ([]string, error) {
	if !lay.HasRegion(from) {
		var names []string
		for _, r := range lay.Regions() {
			names = append(names, r.Name)
		}
		return nil, cacerr.Wrap(cacerr.KindUsage, fmt.Errorf("%w %q: the config repo has no file for it; regions: %s",
			ErrUnknownRegion, from, strings.Join(names, ", ")))
	}
	var all []string
	for _, usn := range lay.USNs() {
		if _, ok := lay.Services[usn][from]; ok {
			all = append(all, usn)
		}
	}
	if len(want) == 0 {
		return all, nil
	}
	var sel, missing []string
	seen := map[string]bool{}
	for _, w := range want {
		if seen[w] {
			continue
		}
		seen[w] = true
		if _, ok := lay.Services[w][from]; ok {
			sel = append(sel, w)
		} else {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return nil, cacerr.Usage("services not found in region %s: %s (no <usn>/%s.yaml); services there: %s",
			from, strings.Join(missing, ", "), from, joinNames(all))
	}
	sort.Strings(sel)
	return sel, nil
}

// ExistsError names the files a command refused to overwrite.
type ExistsError struct{ Files []string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("the target region already has %s; use --force to overwrite", strings.Join(e.Files, ", "))
}

func refuseExisting(fsys fs.FS, force bool, each func(func(string))) error {
	if force {
		return nil
	}
	var exist []string
	each(func(p string) {
		if _, err := fs.Stat(fsys, p); err == nil {
			exist = append(exist, p)
		}
	})
	if len(exist) == 0 {
		return nil
	}
	sort.Strings(exist)
	return cacerr.Wrap(cacerr.KindUsage, &ExistsError{Files: exist})
}

type setting struct {
	key   string
	value *yaml.Node
}

func parseSets(in []string) ([]setting, error) {
	var out []setting
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
			return nil, cacerr.Usage("--set %q: want key=value with a dotted key, e.g. env.physical=pre", s)
		}
		out = append(out, setting{key: k, value: yamlnode.ParseScalar(v)})
	}
	return out, nil
}

// PublishOptions say how generated files reach the config repo.
type PublishOptions struct {
	DryRun bool // compute and report only
	Force  bool // move an existing branch of the same name
	// Opener, when set, pushes the branch and opens a pull/merge request into the base branch.
	Opener forge.PullRequestOpener
	Title  string
	Body   string
}

// publish writes files on a new branch with one commit; a cloned config repo's branch is always
// pushed (the clone is temporary), a local work tree's only to open a pull request.
func publish(ctx context.Context, w *workspace, branch, msg string, files map[string][]byte, o PublishOptions) (Result, error) {
	r := Result{DryRun: o.DryRun, Branch: branch, Base: w.base}
	if o.DryRun {
		return r, nil
	}
	c, err := w.commit(branch, msg, files, o.Force)
	if err != nil {
		return r, err
	}
	r.Commit = c
	if w.url != "" || o.Opener != nil {
		if err := w.push(ctx, branch, o.Force); err != nil {
			return r, err
		}
		r.Pushed = true
	}
	if o.Opener != nil {
		title, body := o.Title, o.Body
		if title == "" {
			title = msg
		}
		u, err := o.Opener.OpenPullRequest(ctx, branch, w.base, title, body)
		if err != nil {
			return r, fmt.Errorf("open pull request %s → %s: %w", branch, w.base, err)
		}
		r.PullRequest = u
	}
	return r, nil
}

// CopyBranch is the branch env copy commits to.
func CopyBranch(to string) string { return "cac/env-copy-" + to }

// Copy runs env copy over a config repo: PlanCopy, then one commit on CopyBranch(To) (see
// PublishOptions).
func Copy(ctx context.Context, src Source, o CopyOptions, p PublishOptions) (*CopyReport, error) {
	w, err := openWorkspace(ctx, src)
	if err != nil {
		return nil, err
	}
	defer w.close()
	rep, files, err := PlanCopy(os.DirFS(w.dir), o)
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("cac env copy: %s from %s (%d services)", o.To, o.From, len(rep.Services))
	if p.Body == "" {
		p.Body = copyBody(rep)
	}
	rep.Result, err = publish(ctx, w, CopyBranch(o.To), msg, files, p)
	return rep, err
}

func copyBody(r *CopyReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Copy of region `%s` to `%s` by `cac env copy`: %d files, %d services.\n", r.From, r.To, len(r.Files), len(r.Services))
	for _, o := range r.Overrides {
		fmt.Fprintf(&b, "\n- `%s` = `%s` in %s", o.Key, o.Value, strings.Join(o.Files, ", "))
	}
	return b.String()
}

// WriteText prints the report for people.
func (r *CopyReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "env copy %s → %s: %d files, %d services\n", r.From, r.To, len(r.Files), len(r.Services))
	for _, f := range r.Files {
		fmt.Fprintf(w, "  %s\n", f)
	}
	if len(r.Overrides) > 0 || len(r.Images) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, o := range r.Overrides {
			fmt.Fprintf(tw, "set\t%s=%s\t%s\n", o.Key, o.Value, strings.Join(o.Files, ", "))
		}
		for _, i := range r.Images {
			var imgs []string
			for _, c := range sortedKeys(i.Images) {
				imgs = append(imgs, i.Images[c])
			}
			fmt.Fprintf(tw, "image\t%s=%s\t%s\n", i.Key, strings.Join(imgs, ","), i.File)
		}
		tw.Flush()
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return r.Result.writeText(w)
}

// WriteJSON prints the report as indented JSON.
func (r *CopyReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

func (r Result) writeText(w io.Writer) error {
	switch {
	case r.DryRun:
		_, err := fmt.Fprintf(w, "dry run: nothing written (branch would be %s)\n", r.Branch)
		return err
	case r.PullRequest != "":
		_, err := fmt.Fprintf(w, "committed %s on %s, pushed, pull request: %s\n", short(r.Commit), r.Branch, r.PullRequest)
		return err
	case r.Pushed:
		_, err := fmt.Fprintf(w, "committed %s on %s and pushed\n", short(r.Commit), r.Branch)
		return err
	}
	_, err := fmt.Fprintf(w, "committed %s on %s\n", short(r.Commit), r.Branch)
	return err
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
