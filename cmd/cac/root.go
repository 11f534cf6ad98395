package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/obs"
	"github.com/cacproj/cac/pkg/settings"
	"github.com/cacproj/cac/pkg/stdsource"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// env is the process environment a command tree runs in; tests build their own.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	rec            *obs.Recorder // what the run did, for --metrics-file; Main sets it
}

// Main runs cac with args and returns the exit code (docs/design.md §4): 0 ok, 1 findings, 2 usage or
// local setup, 3 remote failure. It is the only place errors are printed. Around the command it
// writes --metrics-file and sends --notify-url, also when the command fails.
func Main(args []string, e env) int {
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logw := obs.NewLogWriter(e.stderr)
	e.stderr = logw
	if e.rec == nil {
		e.rec = obs.NewRecorder()
	}
	root := newRoot(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	code := cacerr.ExitCode(err)
	if err != nil && !errors.Is(err, errQuiet) {
		logw.Error(err.Error())
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(logw, "Run 'cac %s --help' for usage.\n", ue.cmd)
	}
	logw.Flush()
	observe(root, cmd, e, code, err, time.Since(start))
	return code
}

// observe writes --metrics-file, pushes --metrics-push and, for a failed or degraded run, posts
// --notify-url. None changes the exit code: a problem is a warning.
func observe(root, cmd *cobra.Command, e env, code int, runErr error, elapsed time.Duration) {
	flag := func(name string) string {
		v, _ := root.PersistentFlags().GetString(name)
		if v == "" { // a flag error stops parsing before settings are applied: the environment still counts
			v = e.getenv(envName(name))
		}
		return v
	}
	name := "cac"
	if cmd != nil && cmd != root {
		name = strings.TrimPrefix(cmd.CommandPath(), "cac ")
	}
	var metrics bytes.Buffer
	_ = e.rec.WriteMetrics(&metrics, name, code, elapsed) // writing to a bytes.Buffer cannot fail
	if path := flag("metrics-file"); path != "" {
		if err := obs.WriteFile(path, metrics.Bytes()); err != nil {
			fmt.Fprintf(e.stderr, "cac: WARNING: could not write --metrics-file: %v\n", err)
		}
	}
	if gateway := flag("metrics-push"); gateway != "" {
		if err := obs.Push(context.Background(), nil, gateway, "cac", pushLabels(root, name, flag), metrics.Bytes()); err != nil {
			fmt.Fprintf(e.stderr, "cac: WARNING: could not push --metrics-push: %v\n", err)
		}
	}
	outcome, reason := e.rec.Outcome(code)
	if endpoint := flag("notify-url"); endpoint != "" && outcome != "success" {
		msg := reason
		if runErr != nil && !errors.Is(runErr, errQuiet) {
			msg = runErr.Error()
		}
		n := obs.Notification{Command: name, ExitCode: code, Outcome: outcome, Error: obs.Scrub(msg, e.getenv),
			USN: flag("usn"), Branch: flag("branch"), PipelineURL: obs.PipelineURL(e.getenv), Version: toolVersion()}
		if err := obs.Notify(context.Background(), nil, endpoint, e.getenv("CAC_NOTIFY_SECRET"), n); err != nil {
			fmt.Fprintf(e.stderr, "cac: WARNING: could not send the failure notice: %v\n", err)
		}
	}
}

// pushLabels is the Pushgateway group of a run: the command, and the usn and regions when set.
func pushLabels(root *cobra.Command, command string, flag func(string) string) []obs.Label {
	labels := []obs.Label{{Name: "command", Value: command}}
	if usn := flag("usn"); usn != "" {
		labels = append(labels, obs.Label{Name: "usn", Value: usn})
	}
	regions, _ := root.PersistentFlags().GetStringSlice("regions")
	if len(regions) > 0 {
		labels = append(labels, obs.Label{Name: "regions", Value: strings.Join(regions, ",")})
	} else if env := flag("regions"); env != "" { // flags not parsed: flag falls back to CAC_REGIONS
		labels = append(labels, obs.Label{Name: "regions", Value: env})
	}
	return labels
}

// errQuiet marks an error whose message was already printed.
var errQuiet = errors.New("already reported")

type usageError struct {
	cmd string
	err error
}

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// common holds the flags every command shares (docs/design.md §4).
type common struct {
	dir        string
	configRepo string
	usn        string
	branch     string
	regions    []string
	standard   string
	registry   string
	format     string
	logFormat  string
	// fetchBudget bounds each remote read (config repo, standard, registry), all attempts together.
	fetchBudget time.Duration
	// sources says how --standard and --registry are read; set before a command runs.
	sources stdsource.Options
}

func newRoot(e env) *cobra.Command {
	c := &common{}
	root := &cobra.Command{
		Use:   "cac",
		Short: "Config as code: one code base for every region, region values from a config repo",
		Long: `cac renders a service's CacRegion_* templates for every region from a separate config repo,
validates the values against a standard, shows the rendered diff on merge requests and publishes
rendered manifests to a GitOps repo that Argo CD syncs.

Every setting can come from a flag, a CAC_* environment variable (CAC_CONFIG_REPO for --config-repo)
or .cac.yaml at the code repo root (config-repo: ...), in that order of precedence.

Exit codes: 0 success, 1 findings in the input, 2 usage or local setup error, 3 remote failure.`,
		Version:       toolVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// -C means what it means for git and make: every relative path, in flags and in
			// .cac.yaml alike, is relative to DIR.
			if c.dir != "." {
				if err := os.Chdir(c.dir); err != nil {
					return cacerr.Usage("-C: %w", err)
				}
				c.dir = "."
			}
			if err := applySettings(cmd, c.dir, e.getenv, e.stderr); err != nil {
				return err
			}
			c.sources = stdsource.Options{CacheDir: standardCache(), Policy: gitremote.Policy{Budget: budgetOption(c.fetchBudget)},
				Getenv: e.getenv, Stderr: e.stderr}
			if lw, ok := e.stderr.(*obs.LogWriter); ok {
				if err := lw.SetFormat(c.logFormat, "command", strings.TrimPrefix(cmd.CommandPath(), "cac ")); err != nil {
					return cacerr.Usage("--log-format: %w", err)
				}
			}
			return nil
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{cmd: strings.TrimPrefix(cmd.CommandPath(), "cac "), err: cacerr.Wrap(cacerr.KindUsage, err)}
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&c.dir, "dir", "C", ".", "run as if started in `DIR` (the code repo root)")
	pf.StringVar(&c.configRepo, "config-repo", "", "config repo: https/ssh/file `URL` or a local path")
	pf.StringVar(&c.usn, "usn", "", "the service's directory in the config repo (default: the repo root)")
	pf.StringVar(&c.branch, "branch", "", "code branch (default: CI variables, else the checked-out branch)")
	pf.StringSliceVar(&c.regions, "regions", nil, "only these regions, comma-separated (default: all)")
	pf.StringVar(&c.standard, "standard", "", "the standard: a `FILE`, an https URL or URL//path@ref (default: the built-in one)")
	pf.StringVar(&c.registry, "registry", "", "known service names: a YAML/JSON list `FILE` or URL")
	pf.StringVar(&c.format, "format", "text", "how findings are printed: text, json, junit, github, gitlab, sarif")
	pf.StringVar(&c.logFormat, "log-format", "text", "progress lines on stderr: text, or json (one object per line)")
	pf.DurationVar(&c.fetchBudget, "fetch-budget", gitremote.DefaultBudget, "give up reading a remote repository, standard or registry after `DURATION` in all, retries included; 0 = no limit")
	pf.String("metrics-file", "", "at exit, also on failure, write Prometheus metrics of the run to `FILE`")
	pf.String("metrics-push", "", "at exit, also on failure, PUT the same metrics to the Prometheus Pushgateway at `URL`")
	pf.String("notify-url", "", "when the run fails or is degraded, POST a JSON notice to `URL` (signed with CAC_NOTIFY_SECRET when set)")
	root.AddCommand(
		newBuildCmd(c, e),
		newSelectCmd(c, e),
		newValidateCmd(c, e),
		newSchemaCmd(c, e),
		newDiffCmd(c, e),
		newScanCmd(c, e),
		newImportCmd(c, e),
		newPublishCmd(c, e),
		newServeCmd(c, e),
		newEnvCmd(c, e), newRegionCmd(c, e), newSubenvCmd(c, e),
		newSecretCmd(e),
		newConfigCmd(c, e),
	)
	return root
}

// applySettings fills every flag not given on the command line from CAC_<FLAG> in the environment,
// else from .cac.yaml in the code dir (flag > env > file > default). A deprecated alias (see
// aliasFlag) counts only when its flag got no value, and says so on stderr.
func applySettings(cmd *cobra.Command, dir string, getenv func(string) string, stderr io.Writer) error {
	file, err := settings.Read(filepath.Join(dir, settings.File), settingNames(cmd.Root()))
	if err != nil {
		return err
	}
	// lookup finds the value of flag name; from says where, and rename(n) names that place for flag n.
	lookup := func(name string) (v, from string, rename func(string) string, ok bool) {
		if v := getenv(envName(name)); v != "" {
			return v, envName(name), envName, true
		}
		if s, ok := file[name]; ok {
			at := func(n string) string { return fmt.Sprintf("%s:%d:%d %s", settings.File, s.Line, s.Col, n) }
			return s.Value, at(name), func(n string) string { return n + " in " + settings.File }, true
		}
		return "", "", nil, false
	}
	var errs []error
	var aliases []*pflag.Flag
	set := map[string]bool{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" || f.Name == "version" || f.Name == "dir" {
			return
		}
		if _, ok := f.Value.(*aliasValue); ok {
			aliases = append(aliases, f)
			return
		}
		if v, from, _, ok := lookup(f.Name); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, cacerr.Usage("%s: %w", from, err))
			}
			set[f.Name] = true
		}
	})
	for _, f := range aliases {
		a := f.Value.(*aliasValue)
		if cmd.Flags().Lookup(a.name).Changed || set[a.name] || a.used {
			continue
		}
		if v, from, rename, ok := lookup(f.Name); ok {
			fmt.Fprintf(stderr, "cac: %s is deprecated: use %s (the old name goes away in the next release)\n", from, rename(a.name))
			if err := a.target.Set(v); err != nil {
				errs = append(errs, cacerr.Usage("%s: %w", from, err))
			}
		}
	}
	return errors.Join(errs...)
}

func envName(flag string) string {
	return "CAC_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// settingNames are the keys .cac.yaml may hold: the flag names of every command but --dir.
func settingNames(root *cobra.Command) []string {
	var out []string
	for n := range flagNames(root) {
		if n != "dir" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// aliasValue is a deprecated flag name's value: it sets the flag's value under its new name and
// prints a note on stderr (not through pflag's Deprecated, whose note cobra prints on stdout).
type aliasValue struct {
	old, name string
	target    pflag.Value
	stderr    io.Writer
	used      bool
}

func (a *aliasValue) String() string { return a.target.String() }
func (a *aliasValue) Type() string   { return a.target.Type() }
func (a *aliasValue) Set(v string) error {
	if !a.used {
		fmt.Fprintf(a.stderr, "cac: --%s is deprecated: use --%s (the old name goes away in the next release)\n", a.old, a.name)
	}
	a.used = true
	return a.target.Set(v)
}

// aliasFlag keeps old, a former name of the flag name on cmd, as a hidden alias for one release.
func aliasFlag(cmd *cobra.Command, e env, old, name string) {
	f := cmd.Flags().Lookup(name)
	cmd.Flags().AddFlag(&pflag.Flag{Name: old, Usage: "deprecated: use --" + name, Hidden: true,
		Value: &aliasValue{old: old, name: name, target: f.Value, stderr: e.stderr}})
}

func flagNames(root *cobra.Command) map[string]bool {
	names := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	delete(names, "help")
	delete(names, "version")
	return names
}
