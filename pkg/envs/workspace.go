package envs

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/gitremote"
)

// Source says where the config repo is: a local git work tree, or a URL cloned into a temporary
// directory (a new branch is then pushed back).
type Source struct {
	Dir    string              // --config-dir: a local git work tree
	URL    string              // --config-repo: https, ssh, git, file URL or a path, cloned with go-git
	Getenv func(string) string // reads the credentials of gitremote.Open; nil: os.Getenv
}

// workspace is an open config repo work tree.
type workspace struct {
	dir    string
	repo   *git.Repository
	base   string            // branch checked out when opened
	url    string            // "" for a local work tree
	rem    *gitremote.Remote // where to push; nil until a push to a local work tree's origin
	tmp    string
	getenv func(string) string
}

func openWorkspace(ctx context.Context, src Source) (*workspace, error) {
	w := &workspace{getenv: src.Getenv}
	if w.getenv == nil {
		w.getenv = os.Getenv
	}
	switch {
	case src.Dir != "" && src.URL != "":
		return nil, cacerr.Usage("give either a config dir or a config repo URL, not both")
	case src.Dir != "":
		repo, err := configrepo.OpenLocal(src.Dir, false)
		if err != nil {
			return nil, cacerr.Usage("config dir %s: not a git work tree: %w", src.Dir, err)
		}
		w.dir, w.repo = src.Dir, repo
	case src.URL != "":
		tmp, err := os.MkdirTemp("", "cac-config-")
		if err != nil {
			return nil, cacerr.Usage("clone config repo: %w", err)
		}
		w.tmp, w.dir, w.url = tmp, tmp, src.URL
		if w.rem, err = gitremote.Open(gitremote.ConfigRepo, src.URL, gitremote.Options{Getenv: w.getenv}); err != nil {
			w.close()
			return nil, err
		}
		repo, err := w.rem.Clone(ctx, gitremote.CloneOptions{Dir: tmp})
		if err != nil {
			w.close()
			return nil, err
		}
		w.repo = repo
	default:
		return nil, cacerr.Usage("no config repo: give --config-dir DIR (a git work tree) or --config-repo URL")
	}
	head, err := w.repo.Head()
	if err != nil {
		w.close()
		return nil, cacerr.Usage("config repo: no commit checked out: %w", err)
	}
	w.base = head.Name().Short()
	return w, nil
}

func (w *workspace) close() {
	if w.tmp != "" {
		os.RemoveAll(w.tmp)
	}
}

// commit creates branch from HEAD, checks it out, writes files (slash paths → content) and commits
// them. An existing branch is an error unless force, which moves it.
func (w *workspace) commit(branch, msg string, files map[string][]byte, force bool) (string, error) {
	ref := plumbing.NewBranchReferenceName(branch)
	if _, err := w.repo.Reference(ref, false); err == nil {
		if !force {
			return "", cacerr.Usage("branch %s already exists in the config repo; delete it or use --force", branch)
		}
		if err := w.repo.Storer.RemoveReference(ref); err != nil {
			return "", cacerr.Usage("remove branch %s: %w", branch, err)
		}
	}
	wt, err := w.repo.Worktree()
	if err != nil {
		return "", cacerr.Usage("config repo work tree: %w", err)
	}
	if err := refuseStaged(wt); err != nil {
		return "", err
	}
	if err := wt.Checkout(&git.CheckoutOptions{Branch: ref, Create: true, Keep: true}); err != nil {
		return "", cacerr.Usage("create branch %s: %w", branch, err)
	}
	if err := w.stage(files); err != nil {
		return "", err
	}
	name, email := w.getenv("GIT_AUTHOR_NAME"), w.getenv("GIT_AUTHOR_EMAIL")
	if name == "" {
		name = "cac"
	}
	if email == "" {
		email = "cac@localhost"
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: name, Email: email, When: time.Now()}})
	if err != nil {
		return "", cacerr.Usage("commit on %s: %w", branch, err)
	}
	return h.String(), nil
}

// push sends branch to origin (forced when force: the branch is cac's own).
func (w *workspace) push(ctx context.Context, branch string, force bool) error {
	if w.rem == nil {
		rem, err := w.repo.Remote("origin")
		if err != nil || len(rem.Config().URLs) == 0 {
			return cacerr.Usage("push %s: the config dir has no origin remote", branch)
		}
		if w.rem, err = gitremote.Open(gitremote.ConfigRepo, rem.Config().URLs[0], gitremote.Options{Getenv: w.getenv}); err != nil {
			return err
		}
	}
	spec := config.RefSpec(fmt.Sprintf("refs/heads/%s:refs/heads/%s", branch, branch))
	if force {
		spec = "+" + spec
	}
	return w.rem.Push(ctx, w.repo, gitremote.PushOptions{RefSpecs: []config.RefSpec{spec}})
}

// stage writes files into the work tree and the index with one index write (go-git's Add rewrites
// the index once per file, which costs seconds for hundreds of files).
func (w *workspace) stage(files map[string][]byte) error {
	idx, err := w.repo.Storer.Index()
	if err != nil {
		return cacerr.Usage("read git index: %w", err)
	}
	for _, p := range sortedKeys(files) {
		full := filepath.Join(w.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return cacerr.Usage("write %s: %w", p, err)
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return cacerr.Usage("write %s: %w", p, err)
		}
		fi, err := os.Stat(full)
		if err != nil {
			return cacerr.Usage("write %s: %w", p, err)
		}
		obj := w.repo.Storer.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		ow, err := obj.Writer()
		if err == nil {
			_, err = ow.Write(files[p])
			if cerr := ow.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return cacerr.Usage("git add %s: %w", p, err)
		}
		h, err := w.repo.Storer.SetEncodedObject(obj)
		if err != nil {
			return cacerr.Usage("git add %s: %w", p, err)
		}
		name := path.Clean(p)
		e, err := idx.Entry(name)
		if err != nil {
			e = idx.Add(name)
		}
		e.Hash, e.Mode, e.Size, e.ModifiedAt = h, filemode.Regular, uint32(fi.Size()), fi.ModTime()
	}
	if err := w.repo.Storer.SetIndex(idx); err != nil {
		return cacerr.Usage("write git index: %w", err)
	}
	return nil
}

// refuseStaged refuses a work tree with staged changes: they would end up in cac's commit.
// Unstaged changes stay where they are.
func refuseStaged(wt *git.Worktree) error {
	st, err := wt.Status()
	if err != nil {
		return cacerr.Usage("config repo status: %w", err)
	}
	var staged []string
	for p, s := range st {
		if s.Staging != git.Unmodified && s.Staging != git.Untracked {
			staged = append(staged, p)
		}
	}
	if len(staged) == 0 {
		return nil
	}
	sort.Strings(staged)
	return cacerr.Usage("the config dir has staged changes (%s); commit or unstage them first", strings.Join(staged, ", "))
}
