// Package affected finds what a change of the config repo alone changes (docs/design.md §6): the
// services and regions whose values differ between two commits of the config repo, read from the
// repo's trees, without any code checkout. `cac publish --affected-since` republishes them and
// `cac diff --affected` renders them for the config repo's merge request.
//
//	<usn>/<region>.yaml      that service in that region
//	<usn>/<anything else>    that service in every region
//	_global/<region>.yaml    every service in that region
//	_regions.yaml            every service in every region (its Argo CD Applications)
//	_services.yaml           the services whose entry changed, in every region
package affected

import (
	"context"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/values"
)

// RegionsFile is the config repo's region → Argo CD destination map (publish.RegionsFile).
const RegionsFile = "_regions.yaml"

// Options say which change of which config repo to analyse.
type Options struct {
	ConfigRepo string // URL or path
	Branch     string // default: the config repo's default branch
	// Since is the commit the change starts from (a full or abbreviated hash, or a revision of the
	// branch such as HEAD~1): CI's previous tip of the branch, or the merge request's base.
	Since string
	// SinceBranch, instead of Since, starts the change at the tip of this branch (a merge
	// request's target branch), fetched besides Branch.
	SinceBranch string
	// Head is the commit the change ends at (default: the tip of Branch).
	Head   string
	Getenv func(string) string
}

// Change is what changed between two commits of the config repo.
type Change struct {
	Branch      string // the config branch
	Since, Head string // full commit hashes
	Files       []string
	// Services maps each affected service to its affected regions; nil regions: every region.
	Services map[string][]string
	// Code is _services.yaml at Head: where each service's code is.
	Code map[string]pipeline.Service
	// regions lists, per service of Head, its regions (<usn>/<region>.yaml).
	regions map[string][]string
}

// Regions are the regions usn has at Head.
func (c *Change) Regions(usn string) []string { return c.regions[usn] }

// USNs lists the affected services, sorted.
func (c *Change) USNs() []string { return slices.Sorted(maps.Keys(c.Services)) }

// Analyze clones the config repo's branch (its objects only, in memory) and compares the trees of
// Since and Head.
func Analyze(ctx context.Context, o Options) (*Change, error) {
	if o.Since == "" && o.SinceBranch == "" {
		return nil, cacerr.Usage("no commit to compare with: set --affected-since")
	}
	rem, err := gitremote.Open(gitremote.ConfigRepo, o.ConfigRepo, gitremote.Options{Getenv: o.Getenv})
	if err != nil {
		return nil, err
	}
	branch := o.Branch
	if branch == "" {
		if branch, err = rem.DefaultBranch(ctx); err != nil {
			return nil, err
		}
	}
	repo, err := rem.Clone(ctx, gitremote.CloneOptions{Ref: plumbing.NewBranchReferenceName(branch), NoCheckout: true})
	if err != nil {
		return nil, err
	}
	head := o.Head
	if head == "" {
		head = plumbing.NewBranchReferenceName(branch).String()
	}
	newC, err := commit(repo, rem, head)
	if err != nil {
		return nil, err
	}
	since := o.Since
	switch {
	case o.SinceBranch == branch:
		since = plumbing.NewBranchReferenceName(branch).String()
	case o.SinceBranch != "":
		since = "refs/remotes/origin/" + o.SinceBranch
		spec := config.RefSpec("+" + plumbing.NewBranchReferenceName(o.SinceBranch).String() + ":" + since)
		if err := rem.Fetch(ctx, repo, gitremote.FetchOptions{RefSpecs: []config.RefSpec{spec}}); err != nil {
			return nil, err
		}
	}
	oldC, err := commit(repo, rem, since)
	if err != nil {
		return nil, err
	}
	return Compare(branch, repo.Storer, oldC, newC)
}

func commit(repo *git.Repository, rem *gitremote.Remote, rev string) (*object.Commit, error) {
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, cacerr.Usage("config repo %s: no commit %q on the branch: %w", rem, rev, err)
	}
	c, err := repo.CommitObject(*h)
	if err != nil {
		return nil, cacerr.Usage("config repo %s: read commit %s: %w", rem, h, err)
	}
	return c, nil
}

// Compare tells what changed between two commits of a config repo's branch (objects in st).
func Compare(branch string, st storer.EncodedObjectStorer, since, head *object.Commit) (*Change, error) {
	oldT, err := since.Tree()
	if err != nil {
		return nil, cacerr.Usage("read tree of %s: %w", since.Hash, err)
	}
	newT, err := head.Tree()
	if err != nil {
		return nil, cacerr.Usage("read tree of %s: %w", head.Hash, err)
	}
	changes, err := object.DiffTree(oldT, newT)
	if err != nil {
		return nil, cacerr.Usage("compare %s and %s: %w", since.Hash, head.Hash, err)
	}
	c := &Change{Branch: branch, Since: since.Hash.String(), Head: head.Hash.String(), Services: map[string][]string{}, regions: map[string][]string{}}
	if c.Code, err = services(st, head); err != nil {
		return nil, err
	}
	oldCode, err := services(st, since)
	if err != nil {
		return nil, err
	}
	if err := c.listServices(newT); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, ch := range changes {
		for _, p := range []string{ch.From.Name, ch.To.Name} {
			if p != "" && !seen[p] {
				seen[p] = true
				c.Files = append(c.Files, p)
			}
		}
	}
	sort.Strings(c.Files)
	for _, p := range c.Files {
		dir, rest, nested := strings.Cut(p, "/")
		ext := path.Ext(rest)
		region := strings.TrimSuffix(rest, ext)
		regionFile := nested && !strings.Contains(rest, "/") && (ext == ".yaml" || ext == ".yml") && !values.Reserved(rest)
		switch {
		case p == RegionsFile:
			for usn := range c.regions {
				c.all(usn)
			}
		case p == pipeline.ServicesFile:
			for usn := range c.regions {
				if oldCode[usn] != c.Code[usn] {
					c.all(usn)
				}
			}
		case dir == values.GlobalDir && regionFile:
			for usn, rs := range c.regions {
				if slices.Contains(rs, region) {
					c.add(usn, region)
				}
			}
		case !nested || values.Reserved(dir) || values.CheckName("service", dir) != nil:
			// another reserved file, or a file at the root: no service reads it
		case regionFile:
			c.add(dir, region)
		default:
			c.all(dir)
		}
	}
	return c, nil
}

// add marks usn in region, unless every region of usn is marked already.
func (c *Change) add(usn, region string) {
	rs, ok := c.Services[usn]
	if ok && rs == nil {
		return
	}
	if !slices.Contains(rs, region) {
		rs = append(rs, region)
		sort.Strings(rs)
	}
	c.Services[usn] = rs
}

func (c *Change) all(usn string) { c.Services[usn] = nil }

// listServices records the service folders of t and their regions.
func (c *Change) listServices(t *object.Tree) error {
	for _, e := range t.Entries {
		if e.Mode != filemode.Dir || values.Reserved(e.Name) || values.CheckName("service", e.Name) != nil {
			continue
		}
		sub, err := t.Tree(e.Name)
		if err != nil {
			return cacerr.Usage("read %s/: %w", e.Name, err)
		}
		var rs []string
		for _, f := range sub.Entries {
			ext := path.Ext(f.Name)
			if f.Mode.IsFile() && !values.Reserved(f.Name) && (ext == ".yaml" || ext == ".yml") {
				rs = append(rs, strings.TrimSuffix(f.Name, ext))
			}
		}
		sort.Strings(rs)
		c.regions[e.Name] = rs
	}
	return nil
}

// services reads _services.yaml of commit c with pipeline.ReadServices (none: an empty map).
func services(st storer.EncodedObjectStorer, c *object.Commit) (map[string]pipeline.Service, error) {
	fsys, err := gitremote.NewTreeFS(st, c)
	if err != nil {
		return nil, cacerr.Usage("read commit %s: %w", c.Hash, err)
	}
	return pipeline.ReadServices(fsys)
}

// CodeDir is the service's folder in a checkout of its code repo (root): dir, the folder
// _services.yaml names (which must exist), else the folder named like the service, else (a repo
// of its own) the root.
func CodeDir(root, usn, dir string) (string, error) {
	name := dir
	if name == "" {
		name = usn
	}
	p := filepath.Join(root, filepath.FromSlash(name))
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return p, nil
	}
	if dir != "" {
		return "", cacerr.Usage("service %s: no folder %s/ in its code repo (dir in the config repo's _services.yaml)", usn, dir)
	}
	return root, nil
}
