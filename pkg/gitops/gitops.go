// Package gitops publishes the output of `cac build` to a GitOps repository that Argo CD syncs
// (docs/design.md §6). For each region it writes envs/<region>/<usn>/ — the manifests under the manifests dir
// as-is, the other rendered files in a ConfigMap <usn>-config, the secret-bearing ones in a
// SOPS-encrypted Secret <usn>-secret (decrypted by KSOPS), and a kustomization.yaml tying them
// together — plus the Argo CD Application argocd/<region>/<usn>.yaml. One commit, pushed with go-git;
// a push rejected because another pipeline moved the branch is redone on the new tip, with backoff.
package gitops

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/cacproj/cac/pkg/argocd"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/sops"
)

// Options configure Publish.
type Options struct {
	RepoURL string // GitOps repo (https, ssh, file or path)
	Token   string // https token; the user name is the forge's (see gitremote.Open)
	// Getenv reads the CI's forge (CI_SERVER_HOST) and ssh keys for gitremote; nil: os.Getenv.
	// Getenv also reads, when a Secret is published, the age identities (SOPS_AGE_KEY,
	// SOPS_AGE_KEY_FILE) and CAC_PUBLISH_KEY that tell an unchanged Secret (see secretFile).
	Getenv func(string) string
	Branch string // default: the remote's default branch
	// PathTemplate places a service's files; {region} and {usn} are replaced. Default envs/{region}/{usn}.
	PathTemplate string
	USN          string
	Output       *pipeline.Output // what `cac build` rendered: pipeline.Run's result, or pipeline.ReadOutput
	Regions      []string         // default: the regions of the build report, else of the tree
	// ManifestsDir is the rendered directory holding Kubernetes manifests (default deploy).
	ManifestsDir string
	// Secrets lists, per region, the secret values of the service; a rendered file containing one goes
	// into the encrypted Secret instead of the ConfigMap.
	Secrets map[string][]SecretValue
	// AgeRecipients encrypt the Secret; default: the age keys of .sops.yaml at the GitOps repo root.
	AgeRecipients []string
	// Cache, when set, keeps the GitOps repo in a directory shared by publishes on one runner (a
	// bare repo per URL, locked while a publish uses it, fetched incrementally), so a publish costs
	// the fetch and the files it changes, not the repository's size. "" fetches the tip into memory.
	Cache         string
	NoPrune       bool // keep files of envs/<region>/<usn>/ that are no longer rendered
	DryRun        bool // no commit, no push; Result.Diff shows what would change
	PipelineURL   string
	CommitMessage string    // extra paragraph for the commit message
	Author        Signature // default cac <cac@localhost>
	Retries       int       // pushes retried after the first (default 8)
	Backoff       time.Duration
	Stderr        io.Writer // progress and retry notes (default: discarded)
	Argo          argocd.Options
	// PR, when set, pushes a branch cac/<usn>/<short-sha> and opens a pull request to Branch instead
	// of pushing to Branch.
	PR PROpener
	// ConfigOnly marks a publish of a config-repo change re-rendered at the code commit last
	// published (cac publish --affected-since): the commit message says so (Cac-Config-Only: true).
	ConfigOnly bool
}

// SecretValue is one secret of a region's values: its dotted value path and its value.
type SecretValue struct {
	Path  string
	Value string
}

// Signature names the commit author.
type Signature struct{ Name, Email string }

// PROpener opens a pull/merge request from head to base and returns its URL (pkg/forge implements it).
type PROpener interface {
	OpenPullRequest(ctx context.Context, head, base, title, body string) (string, error)
}

// Result says what Publish did.
type Result struct {
	UpToDate bool         // nothing to change; no commit
	Commit   string       // the pushed commit ("" when up to date or dry run)
	Branch   string       // the branch pushed to (the PR branch with Options.PR)
	PRURL    string       // the pull request, with Options.PR
	Changes  []FileChange // files added, modified or deleted in the GitOps repo, sorted by path
	Diff     string       // unified diff of Changes (dry run only)
	Attempts int          // push attempts made
}

// FileChange is one changed file of the GitOps repo.
type FileChange struct {
	Path string
	Op   string // add, modify, delete
}

// Publish writes the service's rendered output into the GitOps repo and pushes one commit.
func Publish(ctx context.Context, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	out := o.Output
	regions := slices.Clone(o.Regions)
	if len(regions) == 0 {
		regions = slices.Clone(out.Report.Regions)
	}
	if len(regions) == 0 {
		regions = out.Tree.Regions()
	}
	if len(regions) == 0 {
		return nil, cacerr.Usage("no region to publish in %s; run cac build first", outputName(out))
	}
	sort.Strings(regions)
	var plans []*regionPlan
	for _, r := range regions {
		if len(out.Tree[r]) == 0 {
			return nil, cacerr.Usage("region %s has no rendered output in %s; run cac build for it", r, outputName(out))
		}
		p, err := planRegion(out.Tree, r, o.USN, o.ManifestsDir, o.Secrets[r])
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	rem, err := gitremote.Open(gitremote.GitOpsRepo, o.RepoURL, gitremote.Options{Getenv: o.Getenv, Token: o.Token})
	if err != nil {
		return nil, err
	}
	if o.Argo.Regions == nil {
		fmt.Fprintf(o.Stderr, "no _regions.yaml: Applications target the in-cluster API server, namespace %s\n", o.Argo.DestinationNamespace(o.USN))
	}
	p := &publisher{o: o, rem: rem, report: out.Report, plans: plans}
	var res *Result
	attempts, err := retrier{label: "publish " + o.USN, rem: rem, retries: o.Retries, backoff: o.Backoff, stderr: o.Stderr}.run(ctx, func() error {
		var err error
		res, err = p.attempt(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Attempts = attempts
	return res, nil
}

func (o *Options) defaults() error {
	if o.RepoURL == "" {
		return cacerr.Usage("no GitOps repo: set the repository URL to publish to")
	}
	if o.USN == "" {
		return cacerr.Usage("no service name (USN) to publish")
	}
	if o.Output == nil || o.Output.Report == nil {
		return cacerr.Usage("no build output to publish")
	}
	if u := o.Output.Report.USN; u != o.USN {
		return cacerr.Usage("the build output in %s is service %q's, not %q's; build %s (or set --out to its output)", outputName(o.Output), u, o.USN, o.USN)
	}
	if o.PathTemplate == "" {
		o.PathTemplate = "envs/{region}/{usn}"
	}
	if !strings.Contains(o.PathTemplate, "{usn}") || !strings.Contains(o.PathTemplate, "{region}") {
		return cacerr.Usage("path template %q must contain {region} and {usn}, so each service owns its own path", o.PathTemplate)
	}
	if err := o.Argo.Check(); err != nil {
		return err
	}
	if o.ManifestsDir == "" {
		o.ManifestsDir = "deploy"
	}
	o.ManifestsDir = strings.Trim(path.Clean(filepath.ToSlash(o.ManifestsDir)), "/")
	if o.ManifestsDir == "." || strings.HasPrefix(o.ManifestsDir, "..") {
		return cacerr.Usage("manifests dir %q must be a sub-directory of the rendered output", o.ManifestsDir)
	}
	if o.Author.Name == "" {
		o.Author = Signature{Name: "cac", Email: "cac@localhost"}
	}
	if o.Retries == 0 {
		o.Retries = 8
	}
	if o.Backoff == 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	return nil
}

func (o *Options) getenv() func(string) string {
	if o.Getenv == nil {
		return os.Getenv
	}
	return o.Getenv
}

func (o *Options) appPath(region string) string {
	return strings.NewReplacer("{region}", region, "{usn}", o.USN).Replace(o.PathTemplate)
}

type publisher struct {
	o       Options
	secrets *secretComparer // loaded at the first Secret
	noticed bool            // the notice on re-encrypted secrets was printed
	rem     *gitremote.Remote
	report  *pipeline.Report
	plans   []*regionPlan
}

// attempt clones the tip, writes our paths on it, commits and pushes. Each attempt starts from a fresh
// shallow clone, so a retry re-applies the change on whatever the tip is now.
func (p *publisher) attempt(ctx context.Context) (*Result, error) {
	o := p.o
	c, err := cloneTip(ctx, p.rem, o.Branch, o.Cache, o.Stderr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	st, branch, base, baseTree := c.st, c.branch, c.baseHash(), c.tree
	e, err := p.edit(st, baseTree, branch)
	if err != nil {
		return nil, err
	}
	newTree, err := e.apply(st, base)
	if err != nil {
		return nil, err
	}
	if newTree != base {
		// something else changed: record what this output was rendered from
		if err := p.writeSources(st, e); err != nil {
			return nil, err
		}
		if newTree, err = e.apply(st, base); err != nil {
			return nil, err
		}
	}
	changes, diff, err := changesBetween(baseTree, st, newTree, o.DryRun)
	if err != nil {
		return nil, err
	}
	res := &Result{Branch: branch, Changes: changes, Diff: diff}
	if newTree == base {
		res.UpToDate = true
		return res, nil
	}
	if o.DryRun {
		return res, nil
	}
	commit, err := c.commit(newTree, p.message(), o.Author)
	if err != nil {
		return nil, err
	}
	res.Commit = commit.String()
	target := branch
	if o.PR != nil {
		target = "cac/" + o.USN + "/" + commit.String()[:7]
	}
	if err := c.push(ctx, commit, target); err != nil {
		return nil, err
	}
	res.Branch = target
	if o.PR != nil {
		url, err := o.PR.OpenPullRequest(ctx, target, branch, p.title(), p.message())
		if err != nil {
			return nil, cacerr.Remote(fmt.Errorf("open pull request %s → %s: %w", target, branch, err))
		}
		res.PRURL = url
	}
	return res, nil
}

// edit builds the change to the tip: our paths per region, and the Argo CD Applications.
func (p *publisher) edit(st storer.EncodedObjectStorer, base *object.Tree, branch string) (*edit, error) {
	o := p.o
	e := newEdit()
	var sopsConfig []byte
	if base != nil {
		if f, err := base.File(".sops.yaml"); err == nil {
			if s, err := f.Contents(); err == nil {
				sopsConfig = []byte(s)
			}
		}
	}
	for _, plan := range p.plans {
		dir := o.appPath(plan.region)
		e.replaceDir(dir, !o.NoPrune)
		if base != nil {
			// kept as it is unless the rest changes (writeSources)
			if f, err := base.File(dir + "/" + SourceFile); err == nil {
				e.file(dir+"/"+SourceFile, f.Hash)
			}
		}
		files := plan.files
		if plan.secret != nil {
			secretPath := dir + "/" + fileSecret
			recips := o.AgeRecipients
			if len(recips) == 0 && sopsConfig != nil {
				rule, err := sops.ConfigRule(sopsConfig, secretPath)
				if err != nil {
					return nil, cacerr.Usage("GitOps repo %w", err)
				}
				if rule != nil {
					recips = rule.Recipients
				}
			}
			if len(recips) == 0 {
				return nil, cacerr.Usage("region %s: %s contain secret values and would be committed in plain text; "+
					"give SOPS age recipients (cac publish --age-recipient age1…, or creation_rules with age: in .sops.yaml at the GitOps repo root)",
					plan.region, strings.Join(plan.secret.files, ", "))
			}
			var old []byte
			if base != nil {
				if f, err := base.File(secretPath); err == nil {
					if s, err := f.Contents(); err == nil {
						old = []byte(s)
					}
				}
			}
			if p.secrets == nil {
				var err error
				if p.secrets, err = newSecretComparer(o.getenv()); err != nil {
					return nil, err
				}
			}
			enc, blind, err := plan.secret.secretFile(recips, p.secrets, old)
			if err != nil {
				return nil, cacerr.Usage("region %s: encrypt secret: %w", plan.region, err)
			}
			if blind && !p.noticed {
				p.noticed = true
				fmt.Fprintf(o.Stderr, "cac: notice: %s's Secret is re-encrypted on every publish, so each publish commits new ciphertext and Argo CD resyncs: "+
					"no age identity of this job decrypts the committed Secret and %s is not set. To make unchanged publishes up to date, set %s "+
					"(a CI secret variable of at least %d random characters) or give the job an age identity of the Secret's recipients (%s or %s)\n",
					o.USN, EnvPublishKey, EnvPublishKey, minPublishKey, sops.EnvAgeKeyFile, sops.EnvAgeKey)
			}
			files = map[string][]byte{fileSecret: enc}
			for k, v := range plan.files {
				files[k] = v
			}
		}
		for name, data := range files {
			h, err := gitremote.WriteBlob(st, data)
			if err != nil {
				return nil, err
			}
			e.file(dir+"/"+name, h)
		}
		app, err := o.Argo.Render(o.USN, plan.region, dir, o.RepoURL, branch)
		if err != nil {
			return nil, err
		}
		h, err := gitremote.WriteBlob(st, app)
		if err != nil {
			return nil, err
		}
		e.file("argocd/"+plan.region+"/"+o.USN+".yaml", h)
	}
	return e, nil
}

// writeSources writes the SourceFile of each region into e.
func (p *publisher) writeSources(st storer.EncodedObjectStorer, e *edit) error {
	r := p.report
	for _, plan := range p.plans {
		data, err := Source{USN: p.o.USN, Region: plan.region, CodeBranch: r.CodeBranch, CodeCommit: r.CodeCommit, ConfigCommit: r.ConfigCommit}.marshal()
		if err != nil {
			return err
		}
		h, err := gitremote.WriteBlob(st, data)
		if err != nil {
			return err
		}
		e.file(p.o.appPath(plan.region)+"/"+SourceFile, h)
	}
	return nil
}

func (p *publisher) title() string {
	what := p.o.USN
	if p.o.ConfigOnly {
		what += ", config only"
	}
	return fmt.Sprintf("cac publish %s (code %s, config %s)", what, short(p.report.CodeCommit), short(p.report.ConfigCommit))
}

func (p *publisher) message() string {
	var b strings.Builder
	b.WriteString(p.title() + "\n\n")
	if p.o.CommitMessage != "" {
		b.WriteString(strings.TrimSpace(p.o.CommitMessage) + "\n\n")
	}
	regions := make([]string, len(p.plans))
	for i, pl := range p.plans {
		regions[i] = pl.region
	}
	fmt.Fprintf(&b, "Cac-Usn: %s\nCac-Code-Commit: %s\nCac-Config-Commit: %s\nCac-Regions: %s\n",
		p.o.USN, orNone(p.report.CodeCommit), orNone(p.report.ConfigCommit), strings.Join(regions, ","))
	if p.o.ConfigOnly {
		b.WriteString("Cac-Config-Only: true\n")
	}
	if p.o.PipelineURL != "" {
		fmt.Fprintf(&b, "Cac-Pipeline: %s\n", p.o.PipelineURL)
	}
	return b.String()
}

func short(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return orNone(s)
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Token is the token a push to the GitOps repo uses: CAC_GITOPS_TOKEN, else the first git token
// variable set (gitremote.TokenVars).
func Token(getenv func(string) string) string {
	for _, n := range append([]string{"CAC_GITOPS_TOKEN"}, gitremote.TokenVars...) {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}
