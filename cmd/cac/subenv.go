package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/argocd"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/subenv"
)

func newSubenvCmd(c *common, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subenv",
		Short: "Sub-environments: a few services deployed under a name, routed by header, the rest from the base",
	}
	cmd.AddCommand(newSubenvCreateCmd(c, e), newSubenvDeleteCmd(c, e), newSubenvListCmd(c, e), newSubenvGCCmd(c, e))
	return cmd
}

// subenvTarget is where sub-environments live: a directory (local mode) or a GitOps repo.
type subenvTarget struct {
	dir         string
	repo        string
	branch      string
	regionsFile string
	argoNS      string
}

func (t *subenvTarget) flags(cmd *cobra.Command, withApp bool) {
	f := cmd.Flags()
	f.StringVar(&t.dir, "subenv-dir", subenv.DefaultDir, "local mode: the `DIR` holding <base>/<name>/ and <base>/_routes/")
	f.StringVar(&t.repo, "gitops-repo", "", "commit to this GitOps repo (https/file `URL` or path) under subenv/ instead of --subenv-dir")
	f.StringVar(&t.branch, "gitops-branch", "", "branch of the GitOps repo (default: its default branch)")
	if withApp {
		f.StringVar(&t.regionsFile, "regions-file", "", "a _regions.yaml `FILE`: also write the Argo CD Application argocd/<base>/cac-subenv.yaml")
		f.StringVar(&t.argoNS, "argocd-namespace", "argocd", "namespace of the Argo CD Application")
	}
}

// apply runs edit on the target: computed from the directory and applied to it, or from the tip of
// the GitOps repo (recomputed on a moved tip) and pushed.
func (t *subenvTarget) apply(ctx context.Context, e env, message string, edit func(subenv.Reader, string) (subenv.Changes, error)) (subenv.Changes, string, error) {
	if t.repo == "" {
		d := subenv.Dir(t.dir)
		ch, err := edit(d, "")
		if err != nil {
			return subenv.Changes{}, "", err
		}
		if err := d.Apply(ch); err != nil {
			return subenv.Changes{}, "", cacerr.Usage("write %s: %w", t.dir, err)
		}
		return ch, "", nil
	}
	g := subenv.GitOps{UpdateOptions: gitops.UpdateOptions{RepoURL: t.repo, Branch: t.branch, Message: message, Stderr: e.stderr, Getenv: e.getenv,
		Token: gitops.Token(e.getenv)}}
	if t.regionsFile != "" {
		data, err := os.ReadFile(t.regionsFile)
		if err != nil {
			return subenv.Changes{}, "", cacerr.Usage("read regions file: %w", err)
		}
		if g.Argo.Regions, err = argocd.ParseRegions(t.regionsFile, data); err != nil {
			return subenv.Changes{}, "", err
		}
		g.Argo.Namespace = t.argoNS
	}
	res, ch, err := g.Commit(ctx, edit)
	if err != nil {
		return subenv.Changes{}, "", err
	}
	return ch, res.Commit, nil
}

func (t *subenvTarget) where() string {
	if t.repo != "" {
		return gitremote.Redact(t.repo)
	}
	return t.dir
}

// read returns the tree to list: the directory, or the tip of the GitOps repo.
func (t *subenvTarget) read(ctx context.Context, e env, fn func(subenv.Reader, string) error) error {
	if t.repo == "" {
		return fn(subenv.Dir(t.dir), "")
	}
	_, _, err := t.apply(ctx, e, "", func(tip subenv.Reader, root string) (subenv.Changes, error) {
		return subenv.Changes{}, fn(tip, root)
	})
	return err
}

func newSubenvCreateCmd(c *common, e env) *cobra.Command {
	o := subenv.Options{}
	var t subenvTarget
	var images []string
	var configBranch, out string
	var noBuild bool
	cmd := &cobra.Command{
		Use:   "create NAME --base REGION --services a,b",
		Short: "Deploy services again under NAME, routed by header from the base region's route tables",
		Long: `create reads the base region's rendered Kubernetes manifests (cac build output: <out>/REGION/**/deploy/)
and, for each service named, writes a copy of its Deployments and StatefulSets named <name>-NAME and
labelled cac.io/subenv: NAME (metadata, selector, pod template) into <base>/NAME/, with the images
given by --image. Each host (Kubernetes Service) has one route table per base region,
<base>/_routes/<host>.yaml: an Istio DestinationRule (subset base, and one subset per sub-environment
by the label cac.io/subenv) and a VirtualService with one route per sub-environment, sorted by name,
then the base route last. create adds or replaces NAME's route and subset there and keeps the others:
requests carrying the header (--header, default x-cac-env) with value NAME, or with --baggage KEY a
W3C baggage member KEY=NAME, go to NAME; every other request to the base subset. --weight N also sends
N% of the other requests to NAME (a canary). --gateway NAMESPACE/NAME binds the routes to an ingress
gateway (and the mesh) for the --host names as well, so a request from outside can carry the header.

The base pods must carry the label cac.io/subenv: base (cac publish adds it to the pod templates);
create warns about every base workload without it. Every service on the call path must forward the
header on its outgoing calls (OpenTelemetry propagates baggage without code changes), or requests
fall back to base.

Without --gitops-repo, files go to --subenv-dir (default output/subenv). With it, they are committed under
subenv/ of the GitOps repo; a push rejected because another pipeline moved the branch is recomputed
from the new tip, so concurrent creates all survive. --ttl records an expiry that cac subenv gc acts on.`,
		Example: `  cac subenv create feat-x --base sg --services user,order --header x-mse-tag
  cac subenv create canary --base sg --services user --weight 10
  cac subenv create pr-42 --base sg --services user --image user=reg/user:pr-42 --baggage cac-env \
      --gateway istio-system/public --host shop.example.com --ttl 72h --gitops-repo https://git.example.com/gitops.git`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextJSON("subenv create", c.format); err != nil {
				return err
			}
			if o.Base == "" {
				return cacerr.Usage("cac subenv create needs --base REGION")
			}
			o.Name = args[0]
			o.Images = map[string]string{}
			for _, kv := range images {
				svc, ref, ok := strings.Cut(kv, "=")
				if !ok || svc == "" || ref == "" {
					return cacerr.Usage("--image %q: want SERVICE=IMAGE", kv)
				}
				o.Images[svc] = ref
			}
			if !noBuild && c.configRepo != "" {
				// the sub-environment's own config: the config branch named like it (or
				// --config-branch) when it exists, else the base region's values on the default branch
				output, err := renderSubenv(cmd.Context(), c, e, o, configBranch)
				if err != nil {
					return err
				}
				o.Output = output
			} else if configBranch != "" {
				return cacerr.Usage("--config-branch renders from the config repo: set --config-repo (and drop --no-build)")
			} else {
				output, err := readOutput(c, out)
				if err != nil {
					return err
				}
				o.Output = output
			}
			p, err := subenv.PlanSubenv(o)
			if err != nil {
				return err
			}
			rep := p.Report()
			ch, commit, err := t.apply(cmd.Context(), e, fmt.Sprintf("cac subenv create %s (base %s)\n", o.Name, o.Base), p.Edit)
			if err != nil {
				return err
			}
			rep.Where, rep.Commit = t.where(), commit
			rep.Result(ch)
			return writeReport(e, c.format, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Base, "base", "", "the base `REGION`")
	f.StringSliceVar(&o.Services, "services", nil, "services to deploy in the sub-environment, comma-separated")
	f.StringVar(&o.Header, "header", subenv.DefaultHeader, "request header whose value NAME routes to the sub-environment")
	f.StringVar(&o.Baggage, "baggage", "", "also route requests whose W3C baggage header has the member `KEY`=NAME")
	f.IntVar(&o.Weight, "weight", 0, "also route `N`% of requests without the header to the sub-environment")
	f.StringArrayVar(&o.Gateways, "gateway", nil, "bind the routes to this Istio ingress gateway, `NAMESPACE/NAME` (repeatable)")
	f.StringArrayVar(&o.Hosts, "host", nil, "external host `NAME` routed through --gateway (repeatable)")
	f.StringArrayVar(&images, "image", nil, "`SERVICE=IMAGE`: the sub-environment's image of a service (repeatable)")
	f.DurationVar(&o.TTL, "ttl", 0, "expire the sub-environment after `DURATION` (cac subenv gc deletes it)")
	f.StringVar(&out, "out", "", "with --no-build or without a config repo: cac build output `DIR` holding <out>/REGION/ (default: found like cac select finds it)")
	f.StringVar(&configBranch, "config-branch", "", "render the service from this config `BRANCH` (default: the branch named like the sub-environment, else the default branch)")
	f.BoolVar(&noBuild, "no-build", false, "read the manifests of --out instead of rendering the service")
	t.flags(cmd, true)
	return cmd
}

// renderSubenv runs the build pipeline for the base region from the sub-environment's config branch,
// in memory.
func renderSubenv(ctx context.Context, c *common, e env, o subenv.Options, branch string) (*pipeline.Output, error) {
	if branch == "" {
		branch = o.Name
	}
	v, err := loadStandard(ctx, c)
	if err != nil {
		return nil, err
	}
	res, err := pipeline.Run(ctx, pipeline.Options{CodeDir: c.dir, ConfigRepo: c.configRepo, USN: c.usn, Branch: branch, NoWrite: true,
		Regions: []string{o.Base}, Validator: v, Getenv: e.getenv, Stderr: e.stderr, Tool: "cac " + toolVersion()})
	if res != nil && len(res.Findings) > 0 {
		if perr := printFindings(e, c.format, "cac subenv create", res.Findings); perr != nil {
			return nil, perr
		}
	}
	if err != nil {
		return nil, err
	}
	r := res.Report
	fmt.Fprintf(e.stderr, "config %s @ %s (%s)\n", r.ConfigRepo, r.ConfigBranch, short(r.ConfigCommit))
	return &res.Output, nil
}

func newSubenvDeleteCmd(c *common, e env) *cobra.Command {
	var t subenvTarget
	var base string
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a sub-environment: its workloads, and its routes and subsets from the route tables",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextJSON("subenv delete", c.format); err != nil {
				return err
			}
			name := args[0]
			ch, commit, err := t.apply(cmd.Context(), e, fmt.Sprintf("cac subenv delete %s\n", name), func(tip subenv.Reader, root string) (subenv.Changes, error) {
				return subenv.DeleteEdit(tip, root, base, name)
			})
			if err != nil {
				return err
			}
			rep := &subenv.Report{Name: name, Base: base, Where: t.where(), Commit: commit}
			rep.Result(ch)
			return writeReport(e, c.format, rep)
		},
	}
	cmd.Flags().StringVar(&base, "base", "", "only in this base `REGION` (default: every one)")
	t.flags(cmd, false)
	return cmd
}

func newSubenvListCmd(c *common, e env) *cobra.Command {
	var t subenvTarget
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show the live sub-environments: name, services, routes, expiry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkTextJSON("subenv list", c.format); err != nil {
				return err
			}
			l := &subenv.Listing{Where: t.where(), Entries: []subenv.Entry{}}
			err := t.read(cmd.Context(), e, func(tip subenv.Reader, root string) error {
				entries, err := subenv.List(tip, root, time.Now())
				if entries != nil {
					l.Entries = entries
				}
				return err
			})
			if err != nil {
				return err
			}
			return writeReport(e, c.format, l)
		},
	}
	t.flags(cmd, false)
	return cmd
}

func newSubenvGCCmd(c *common, e env) *cobra.Command {
	var t subenvTarget
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete the sub-environments whose --ttl has passed (for a scheduled pipeline)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var gone []string
			now := time.Now()
			_, commit, err := t.apply(cmd.Context(), e, "cac subenv gc\n", func(tip subenv.Reader, root string) (subenv.Changes, error) {
				ch, names, err := subenv.GCEdit(tip, root, now)
				gone = names
				return ch, err
			})
			if err != nil {
				return err
			}
			if len(gone) == 0 {
				fmt.Fprintf(e.stderr, "no expired sub-environment in %s\n", t.where())
				return nil
			}
			for _, g := range gone {
				fmt.Fprintf(e.stdout, "deleted %s\n", g)
			}
			if commit != "" {
				fmt.Fprintf(e.stderr, "committed %s to %s\n", short(commit), t.where())
			}
			return nil
		},
	}
	t.flags(cmd, false)
	return cmd
}
