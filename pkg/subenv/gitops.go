package subenv

import (
	"context"
	"errors"
	"io/fs"
	"path"

	"github.com/cacproj/cac/pkg/argocd"
	"github.com/cacproj/cac/pkg/gitops"
)

// GitOpsRoot is the directory of sub-environments in a GitOps repo: subenv/<base>/...
const GitOpsRoot = "subenv"

// appName names the Argo CD Application of a base region's sub-environments: cac-subenv-<base>, in
// argocd/<base>/cac-subenv.yaml beside the services' Applications that cac publish writes.
const appName = "cac-subenv"

// GitOps commits sub-environments to a GitOps repo.
type GitOps struct {
	gitops.UpdateOptions
	// Argo, when it has Regions, adds one Argo CD Application per base region that syncs
	// subenv/<base> (all its sub-environments and route tables), removed with the last of them.
	Argo argocd.Options
}

// Commit runs edit on the tip of the GitOps repo (again on the new tip when another pipeline moved
// it) and pushes the result as one commit.
func (g GitOps) Commit(ctx context.Context, edit func(tip Reader, root string) (Changes, error)) (*gitops.UpdateResult, Changes, error) {
	var last Changes
	res, err := gitops.Update(ctx, g.UpdateOptions, func(tip gitops.Reader) (map[string][]byte, []string, error) {
		c, err := edit(tip, GitOpsRoot)
		if err != nil {
			return nil, nil, err
		}
		if c, err = g.applications(tip, c); err != nil {
			return nil, nil, err
		}
		last = c
		return c.Write, c.Delete, nil
	})
	if err != nil {
		return nil, Changes{}, err
	}
	return res, last, nil
}

// applications removes the Application of every base region left without sub-environments, and,
// with Argo.Regions, writes it for those that have some.
func (g GitOps) applications(tip Reader, c Changes) (Changes, error) {
	t := newOverlay(tip)
	for name, data := range c.Write {
		t.write(name, data)
	}
	for _, name := range c.Delete {
		t.remove(name)
	}
	bs := map[string]bool{}
	for _, f := range append(sortedKeys(c.Write), c.Delete...) {
		if dir := path.Dir(f); path.Base(f) == kustomizationFile && path.Dir(dir) == GitOpsRoot {
			bs[path.Base(dir)] = true
		}
	}
	for _, base := range sortedKeys(bs) {
		file := path.Join("argocd", base, appName+".yaml")
		if _, err := t.ReadFile(path.Join(GitOpsRoot, base, kustomizationFile)); errors.Is(err, fs.ErrNotExist) {
			t.remove(file)
			continue
		}
		if g.Argo.Regions == nil {
			continue
		}
		branch := g.Branch
		if branch == "" {
			branch = "HEAD"
		}
		app, err := g.Argo.Render(appName, base, path.Join(GitOpsRoot, base), g.RepoURL, branch)
		if err != nil {
			return Changes{}, err
		}
		t.write(file, app)
	}
	return t.changes()
}
