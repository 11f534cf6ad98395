package main

import (
	"context"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/envs"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/sops"
)

func newEnvCmd(c *common, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Environments: show a service's effective values, list regions, copy a region",
	}
	cmd.AddCommand(newEnvShowCmd(c, e), newEnvListCmd(c, e), newEnvCopyCmd(c, e))
	return cmd
}

// configFS opens the config repo to read: --config-dir (a directory used as is), else --config-repo
// fetched like build does (branch resolution included). The returned func cleans up.
func configFS(ctx context.Context, c *common, e env, dir string) (fs.FS, func(), error) {
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, nil, cacerr.Usage("--config-dir %s: not a directory", dir)
		}
		return os.DirFS(dir), func() {}, nil
	}
	if c.configRepo == "" {
		return nil, nil, cacerr.Usage("no config repo: pass --config-dir DIR or --config-repo URL|PATH")
	}
	res, err := configrepo.Fetch(ctx, configrepo.Options{URL: c.configRepo, Branch: c.branch, Getenv: e.getenv, Stderr: e.stderr})
	if err != nil {
		return nil, nil, err
	}
	return res.FS, func() { res.Close() }, nil
}

// checkTextJSON accepts the formats of the environment commands.
func checkTextJSON(cmd string, format string) error {
	if format != "text" && format != "json" {
		return cacerr.Usage("cac %s --format takes text or json, not %q", cmd, format)
	}
	return nil
}

func newEnvShowCmd(c *common, e env) *cobra.Command {
	var configDir string
	cmd := &cobra.Command{
		Use:   "show REGION",
		Short: "Show a service's effective values in a region, each with the file:line it comes from",
		Long: `show layers _global/REGION.yaml under <usn>/REGION.yaml, as build does, and prints every value
with its origin (the _global file or the service's file, file:line:col). Values at the standard's
secret leaves print as ***.`,
		Example: `  cac env show sg --usn user --config-dir ../config
  cac env show sg --usn user --config-repo https://git.example.com/shop/config.git --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextJSON("env show", c.format); err != nil {
				return err
			}
			std, err := openStandard(cmd.Context(), c)
			if err != nil {
				return err
			}
			fsys, done, err := configFS(cmd.Context(), c, e, configDir)
			if err != nil {
				return err
			}
			defer done()
			keys, err := sops.KeysFromEnv(e.getenv)
			if err != nil {
				return cacerr.Usage("age identity: %w", err)
			}
			eff, findings, err := envs.Show(sops.NewFS(fsys, keys, false), std, c.usn, args[0])
			if err != nil {
				return err
			}
			if len(findings) > 0 {
				if err := printFindings(e, "text", "cac env show", findings); err != nil {
					return err
				}
				return cacerr.Findings(len(findings), "problems found")
			}
			return writeReport(e, c.format, eff)
		},
	}
	cmd.Flags().StringVar(&configDir, "config-dir", "", configDirUsage)
	return cmd
}

func newEnvListCmd(c *common, e env) *cobra.Command {
	var configDir string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the regions of the config repo with their services",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkTextJSON("env list", c.format); err != nil {
				return err
			}
			fsys, done, err := configFS(cmd.Context(), c, e, configDir)
			if err != nil {
				return err
			}
			defer done()
			lay, err := envs.ReadLayout(fsys)
			if err != nil {
				return cacerr.Wrap(cacerr.KindUsage, err)
			}
			if c.format == "json" {
				return envs.WriteRegionsJSON(e.stdout, lay.Regions())
			}
			return envs.WriteRegionsText(e.stdout, lay.Regions())
		},
	}
	cmd.Flags().StringVar(&configDir, "config-dir", "", configDirUsage)
	return cmd
}

// writeFlags are the flags of commands that write a branch into the config repo.
type writeFlags struct {
	configDir string
	force     bool
	dryRun    bool
	openPR    string
	forgeRepo string
	forgeAPI  string
}

func (w *writeFlags) add(cmd *cobra.Command, e env) {
	f := cmd.Flags()
	f.StringVar(&w.configDir, "config-dir", "", configDirUsage+"; changes are committed there on a new branch")
	f.BoolVar(&w.force, "force", false, "overwrite files the target region already has (and move cac's branch)")
	f.BoolVar(&w.dryRun, "dry-run", false, "report what would be written; write nothing")
	f.StringVar(&w.openPR, "open-pr", "", "push the branch and open a pull/merge request: github or gitlab (token from GITHUB_TOKEN, GITLAB_TOKEN or CI_JOB_TOKEN)")
	f.StringVar(&w.forgeRepo, "forge-repo", "", "the config repo on the forge: GitHub owner/name or GitLab project path or ID (default: GITHUB_REPOSITORY, CI_PROJECT_ID)")
	f.StringVar(&w.forgeAPI, "forge-api-url", "", "forge API `URL` (default: GITHUB_API_URL or https://api.github.com; CI_API_V4_URL)")
	aliasFlag(cmd, e, "forge-api", "forge-api-url")
}

func (w *writeFlags) source(c *common, e env) envs.Source {
	return envs.Source{Dir: w.configDir, URL: c.configRepo, Getenv: e.getenv}
}

func (w *writeFlags) publish(e env) (envs.PublishOptions, error) {
	p := envs.PublishOptions{DryRun: w.dryRun, Force: w.force}
	if w.openPR == "" || w.dryRun {
		return p, nil
	}
	f, err := forge.Opener(w.openPR, w.forgeRepo, w.forgeAPI, e.getenv)
	if err != nil {
		return p, err
	}
	p.Opener = f
	return p, nil
}

func newEnvCopyCmd(c *common, e env) *cobra.Command {
	var w writeFlags
	var o envs.CopyOptions
	var gitops string
	cmd := &cobra.Command{
		Use:   "copy --from STABLE --to NEW",
		Short: "Copy a stable region to a new one: every service's file, _global, overrides and images",
		Long: `copy writes NEW.yaml beside STABLE.yaml in every service directory and in _global (or only for
--services), byte for byte, so comments stay. --set key=value changes a value in the copy: in
_global/NEW.yaml and every service file where the key is written; a key written nowhere goes to
_global/NEW.yaml (or, without one, to every service file).

--gitops-repo reads what the GitOps repo publishes for STABLE (envs/STABLE/<usn>/*.yaml) and pins
each copied service to the images it runs there, under --image-key (default deploy.image, one
container: image entry per container, where the standard accepts them for every service), so the
copy runs what the stable environment runs.

The files are committed on the branch cac/env-copy-NEW: in --config-dir's work tree, or in a clone
of --config-repo that is then pushed. --open-pr pushes and opens a pull/merge request. A region
that already has files is refused (exit 2) unless --force.

SOPS-encrypted files stay encrypted: with an age identity (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or
~/.config/sops/age/keys.txt) each is decrypted in memory and written encrypted again for the same
recipients and rules, with a new data key; without one it is copied unchanged, and a change to it
(--set, an image pin) is refused (exit 2).`,
		Example: `  cac env copy --from sg --to id --config-dir ../config --set env.physical=pre
  cac env copy --from sg --to id --config-repo https://git.example.com/shop/config.git \
      --gitops-repo https://git.example.com/shop/gitops.git --open-pr gitlab`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkTextJSON("env copy", c.format); err != nil {
				return err
			}
			if o.From == "" || o.To == "" {
				return cacerr.Usage("cac env copy needs --from STABLE and --to NEW")
			}
			p, err := w.publish(e)
			if err != nil {
				return err
			}
			o.Force = w.force
			if o.Keys, err = sops.KeysFromEnv(e.getenv); err != nil {
				return cacerr.Usage("age identity: %w", err)
			}
			if o.Standard, err = openStandard(cmd.Context(), c); err != nil {
				return err
			}
			if gitops != "" {
				if o.Images, err = envs.ReadImages(cmd.Context(), gitops, o.From, e.getenv); err != nil {
					return err
				}
			}
			rep, err := envs.Copy(cmd.Context(), w.source(c, e), o, p)
			if err != nil {
				return err
			}
			return writeReport(e, c.format, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.From, "from", "", "the stable `REGION` to copy")
	f.StringVar(&o.To, "to", "", "the new `REGION`")
	f.StringSliceVar(&o.Services, "services", nil, "copy only these services, comma-separated")
	f.StringArrayVar(&o.Set, "set", nil, "override a value in the copy: `key=value` (repeatable)")
	f.StringVar(&gitops, "gitops-repo", "", "GitOps repo `URL` to read the images STABLE runs from")
	f.StringVar(&o.ImageKey, "image-key", envs.DefaultImageKey, "value path the images are written to")
	w.add(cmd, e)
	return cmd
}
