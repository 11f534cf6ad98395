// Package review renders a change's base and head and diffs the rendered config: what the
// merge-request bot posts (docs/design.md §5). Each side is code@rev + config@rev, where the config repo is
// fetched at the branch named like the side's code branch (falling back to its default branch).
// Code revisions are read from git objects, never from the working tree.
package review

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/diff"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/render"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/sops"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
)

// BaseVars are the CI variables naming the target branch of a merge request, in order.
var BaseVars = []string{"GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"}

// SecretFinder lists the secret values of a region's values (*standard.Standard does).
type SecretFinder interface {
	Secrets(v *values.Node) []standard.SecretValue
}

// Options configure a review.
type Options struct {
	CodeDir  string // the code repo checkout (revisions read from its git objects); default "."
	CodeRepo string // a remote code repo instead: the config repo's pipeline names the code side
	// BaseCodeRepo, with CodeRepo, is where the base's code is when it is not in CodeRepo (a pull
	// request from a fork: CodeRepo is the fork, BaseCodeRepo the upstream repo).
	BaseCodeRepo string
	// Code, instead of CodeDir or CodeRepo, is the code of both sides: a change of the config
	// repo alone is rendered with the service's code as it stands (docs/design.md §5).
	Code       *CodeAt
	ConfigRepo string
	USN        string
	Base       string   // target branch (default: GITHUB_BASE_REF, CI_MERGE_REQUEST_TARGET_BRANCH_NAME, else the default branch)
	Head       string   // source branch (default: --branch, CI variables, else the checkout, as for build)
	Regions    []string // only these regions in the diff (default: all)
	Validator  pipeline.Validator
	Secrets    SecretFinder
	Fetch      configrepo.Options
	Getenv     func(string) string
	Stderr     io.Writer
	Context    int // diff context lines
}

// CodeAt is a service's code at one commit: Dir holds its files (the service's folder).
type CodeAt struct {
	Dir, Commit string
}

// Side tells where one side's rendered config came from.
type Side struct {
	Name           string `json:"name"` // the branch (or revision) asked for
	CodeCommit     string `json:"codeCommit"`
	ConfigBranch   string `json:"configBranch"`
	ConfigFallback bool   `json:"configFallback"`
	ConfigCommit   string `json:"configCommit"`
	Note           string `json:"note,omitempty"` // e.g. why the base is shown as empty
}

// Result is the rendered diff with its two sides. Findings are the head's, when it does not build.
type Result struct {
	Base, Head Side
	Diff       *diff.Result
	Findings   []report.Finding
	// Scan holds the head's new anti-corruption findings when the bot scanned it (Bot.Scan).
	Scan *ScanResult

	headValues map[string]*values.Node // the head's effective values per region, for the scan
}

// Run renders base and head and diffs them. When the head does not build, the result carries its
// findings and the error (exit 1); a base that does not build (the first adoption, a new service)
// is shown as empty, with a note.
func Run(ctx context.Context, opt Options) (*Result, error) {
	if opt.CodeDir == "" {
		opt.CodeDir = "."
	}
	if opt.Getenv == nil {
		opt.Getenv = func(string) string { return "" }
	}
	if opt.Stderr == nil {
		opt.Stderr = io.Discard
	}
	base := opt.Base
	for _, v := range BaseVars {
		if base == "" {
			base = opt.Getenv(v)
		}
	}
	head, headRev := opt.Head, opt.Head // with --code-repo, the code is fetched at the head's branch
	if opt.CodeRepo == "" && opt.Code == nil {
		b, _, err := configrepo.ResolveBranch(opt.Head, opt.Getenv, opt.CodeDir)
		if err != nil {
			return nil, cacerr.Wrap(cacerr.KindUsage, err)
		}
		head = b
		if headRev == "" {
			headRev = "HEAD" // the checked-out commit is the head, whatever its branch is called
		}
	} else if head == "" {
		b, _, err := configrepo.ResolveBranch("", opt.Getenv, opt.CodeDir)
		if err != nil {
			return nil, cacerr.Wrap(cacerr.KindUsage, err)
		}
		head, headRev = b, b
	}
	res := &Result{}
	baseOpt := opt
	if opt.CodeRepo != "" && opt.BaseCodeRepo != "" {
		baseOpt.CodeRepo = opt.BaseCodeRepo
	}
	baseTree, baseSecrets, _, baseSide, err := renderSide(ctx, baseOpt, base, base)
	res.Base = baseSide
	if err != nil {
		if cacerr.Is(err, cacerr.KindRemote) || errors.Is(err, context.Canceled) {
			return nil, err
		}
		res.Base.Note = "the base does not build (" + firstLine(err) + "); every file is shown as new"
		fmt.Fprintf(opt.Stderr, "cac: base %s: %s\n", displayName(base), res.Base.Note)
		baseTree = diff.Tree{}
	}
	headTree, headSecrets, headValues, headSide, err := renderSide(ctx, opt, head, headRev)
	res.Head = headSide
	if err != nil {
		var fe *findingsErr
		if errors.As(err, &fe) {
			res.Findings = fe.findings
			return res, fe.err
		}
		return res, err
	}
	res.headValues = headValues
	res.Diff = diff.Compute(filter(baseTree, opt.Regions), filter(headTree, opt.Regions),
		diff.Options{Context: opt.Context, Secrets: notCompared(pairSecrets(baseSecrets, headSecrets))})
	return res, nil
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func displayName(b string) string {
	if b == "" {
		return "(default branch)"
	}
	return b
}

type findingsErr struct {
	findings []report.Finding
	err      error
}

func (f *findingsErr) Error() string { return f.err.Error() }
func (f *findingsErr) Unwrap() error { return f.err }

// renderSide builds one side in memory: code at rev (branch name for the config repo), its
// templates checked out into a temp dir: the rendered tree, the secret values ("region:path" →
// value) and the effective values per region.
func renderSide(ctx context.Context, opt Options, branch, rev string) (diff.Tree, map[string]string, map[string]*values.Node, Side, error) {
	side := Side{Name: displayName(branch)}
	tmp, err := os.MkdirTemp("", "cac-review-")
	if err != nil {
		return nil, nil, nil, side, cacerr.Usage("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	code := filepath.Join(tmp, "code")
	commit, cleanup, err := checkoutTemplates(ctx, opt, rev, code)
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		return nil, nil, nil, side, err
	}
	side.CodeCommit = commit
	fo := opt.Fetch
	fo.Stderr = opt.Stderr
	res, err := pipeline.Run(ctx, pipeline.Options{
		CodeDir: code, NoWrite: true, ConfigRepo: opt.ConfigRepo, USN: opt.USN,
		Branch: branch, CodeCommit: commit, Validator: opt.Validator, Fetch: fo, Getenv: opt.Getenv,
		Stderr: opt.Stderr, KeepEncrypted: true,
	})
	if res != nil && res.Report != nil {
		r := res.Report
		side.ConfigBranch, side.ConfigFallback, side.ConfigCommit = r.ConfigBranch, r.ConfigFallback, r.ConfigCommit
	}
	if err != nil {
		if res != nil && len(res.Findings) > 0 {
			return nil, nil, nil, side, &findingsErr{findings: res.Findings, err: err}
		}
		return nil, nil, nil, side, err
	}
	secrets := map[string]string{} // "region:path" → value
	if opt.Secrets != nil {
		for region, v := range res.Values {
			for _, s := range opt.Secrets.Secrets(v) {
				secrets[region+":"+s.Path] = s.Value
			}
		}
	}
	return res.Tree.Contents(), secrets, res.Values, side, nil
}

// checkoutTemplates writes the CacRegion_ templates of the code at rev into dir (Options.Code:
// links dir to it, whatever rev). With a remote code
// repo, or a revision the local repo lacks, the code repo is fetched (same-named branch, fallback).
func checkoutTemplates(ctx context.Context, opt Options, rev, dir string) (string, func(), error) {
	if opt.Code != nil {
		if err := os.Symlink(opt.Code.Dir, dir); err != nil {
			return "", nil, cacerr.Usage("code checkout: %w", err)
		}
		return opt.Code.Commit, nil, nil
	}
	if opt.CodeRepo != "" {
		return fetchCode(ctx, opt, opt.CodeRepo, rev, dir)
	}
	repo, err := configrepo.OpenLocal(opt.CodeDir, true)
	if err != nil {
		return "", nil, cacerr.Usage("%s is not in a git repository: cac diff reads base and head from git (or set --code-repo): %w", opt.CodeDir, err)
	}
	prefix, err := repoPrefix(repo, opt.CodeDir)
	if err != nil {
		return "", nil, err
	}
	if rev != "" {
		for _, r := range []string{rev, "refs/remotes/origin/" + rev} {
			h, err := repo.ResolveRevision(plumbing.Revision(r))
			if err != nil {
				continue
			}
			c, err := repo.CommitObject(*h)
			if err != nil {
				return "", nil, cacerr.Usage("read commit %s: %w", r, err)
			}
			return h.String(), nil, extract(c, prefix, dir)
		}
	}
	origin, err := repo.Remote("origin")
	if err != nil || len(origin.Config().URLs) == 0 {
		return "", nil, cacerr.Usage("revision %q is not in the local code repo and it has no origin remote to fetch it from", rev)
	}
	sub := filepath.Join(filepath.Dir(dir), "code-clone")
	commit, cleanup, err := fetchCode(ctx, opt, origin.Config().URLs[0], rev, sub)
	if err != nil {
		return "", cleanup, err
	}
	return commit, cleanup, os.Rename(filepath.Join(sub, filepath.FromSlash(prefix)), dir)
}

// fetchCode checks out the code repo at url at branch (its default branch when it lacks branch)
// as dir; errors name the code repo.
func fetchCode(ctx context.Context, opt Options, url, branch, dir string) (string, func(), error) {
	rem, err := gitremote.Open(gitremote.CodeRepo, url, gitremote.Options{Getenv: opt.Getenv, Policy: opt.Fetch.Policy()})
	if err != nil {
		return "", nil, err
	}
	res, err := rem.Checkout(ctx, gitremote.CheckoutOptions{Branch: branch, Stderr: opt.Stderr})
	if err != nil {
		return "", nil, err
	}
	if err := os.Symlink(res.Dir, dir); err != nil {
		res.Close()
		return "", nil, cacerr.Usage("code checkout: %w", err)
	}
	return res.Commit, func() { res.Close() }, nil
}

// repoPrefix is CodeDir relative to the repository root, slash-separated ("" at the root).
func repoPrefix(repo *git.Repository, codeDir string) (string, error) {
	wt, err := repo.Worktree()
	if err != nil {
		return "", cacerr.Usage("code repo work tree: %w", err)
	}
	root, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return "", cacerr.Usage("code repo root: %w", err)
	}
	abs, err := filepath.Abs(codeDir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", cacerr.Usage("code dir: %w", err)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return "", cacerr.Usage("code dir: %w", err)
	}
	if rel == "." {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}

// extract writes the templates of commit c under prefix into dir, keeping executable bits.
func extract(c *object.Commit, prefix, dir string) error {
	tree, err := c.Tree()
	if err != nil {
		return cacerr.Usage("read tree of %s: %w", c.Hash, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return cacerr.Usage("temp dir: %w", err)
	}
	if prefix != "" {
		sub, err := tree.Tree(prefix)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return nil // the service does not exist at this revision
		}
		if err != nil {
			return cacerr.Usage("read %s at %s: %w", prefix, c.Hash, err)
		}
		tree = sub
	}
	return tree.Files().ForEach(func(f *object.File) error {
		if !render.IsTemplate(f.Name) {
			return nil
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		content, err := f.Contents()
		if err != nil {
			return fmt.Errorf("read %s at %s: %w", f.Name, c.Hash, err)
		}
		if f.Mode == filemode.Symlink {
			return os.Symlink(content, p)
		}
		mode := os.FileMode(0o644)
		if f.Mode == filemode.Executable {
			mode = 0o755
		}
		return os.WriteFile(p, []byte(content), mode)
	})
}

func filter(t diff.Tree, regions []string) diff.Tree {
	if len(regions) == 0 {
		return t
	}
	out := diff.Tree{}
	for _, r := range regions {
		if files, ok := t[r]; ok {
			out[r] = files
		}
	}
	return out
}

// pairSecrets turns the secret values of both sides ("region:path" → value) into diff.Secrets,
// paired by region and path so a changed secret reads as changed, never with its value.
func pairSecrets(base, head map[string]string) []diff.Secret {
	var out []diff.Secret
	region := func(key string) string { r, _, _ := strings.Cut(key, ":"); return r }
	for key, b := range base {
		out = append(out, diff.Secret{Path: key, Region: region(key), Base: b, Head: head[key]})
	}
	for key, h := range head {
		if _, ok := base[key]; !ok {
			out = append(out, diff.Secret{Path: key, Region: region(key), Head: h})
		}
	}
	slices.SortFunc(out, func(a, b diff.Secret) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// notCompared marks the secrets still encrypted on either side (the job holds no age identity, so
// cac read the SOPS files as they are): their ciphertext changes with every encryption, so they
// show as "encrypted, not compared" rather than as changed.
func notCompared(secrets []diff.Secret) []diff.Secret {
	for i, s := range secrets {
		if sops.IsCiphertext(s.Base) || sops.IsCiphertext(s.Head) {
			secrets[i].NotCompared = true
		}
	}
	return secrets
}
