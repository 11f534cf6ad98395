package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/envs"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/stdsource"
	"github.com/cacproj/cac/pkg/values"
)

// loadedStandard is --standard and --registry, read once: the validator of a build and the
// secret finder of a diff or a publish.
type loadedStandard struct {
	std      *standard.Standard
	registry *standard.Registry
}

func (v loadedStandard) Validate(region, usn string, vals *values.Node) []report.Finding {
	return v.std.Validate(standard.Input{Region: region, USN: usn, Values: vals, Registry: v.registry})
}

func (v loadedStandard) Secrets(vals *values.Node) []standard.SecretValue { return v.std.Secrets(vals) }

func standardCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "cac", "standards")
}

// openStandard loads --standard (default: the built-in rules/standard.yaml).
func openStandard(ctx context.Context, c *common) (*standard.Standard, error) {
	return stdsource.Open(ctx, c.standard, c.sources)
}

// loadStandard reads --standard and --registry once.
func loadStandard(ctx context.Context, c *common) (loadedStandard, error) {
	std, err := openStandard(ctx, c)
	if err != nil {
		return loadedStandard{}, err
	}
	v := loadedStandard{std: std}
	if c.registry != "" {
		if v.registry, err = stdsource.LoadRegistry(ctx, c.registry, c.sources); err != nil {
			return loadedStandard{}, err
		}
	}
	return v, nil
}

func newValidateCmd(c *common, e env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the config repo's values against the standard, without rendering",
		Long: `validate fetches the config repo like build does and checks every region's effective values
(_global/<region>.yaml under <usn>/<region>.yaml) against the standard: types, required keys,
allowed values, patterns, expressions, known services, whitelists, and keys the standard does not
know. Every finding of every region is printed at once, with file:line:col, the value path, the
rule and what to do. A secret's value is never printed.`,
		Example: `  # check every region of the service "user" against the built-in standard
  cac validate --config-repo ../config --usn user

  # against the organisation's standard, kept in a git repo, with the service registry
  cac validate --standard https://git.example.com/platform/rules.git//standard.yaml@v3 --registry services.yaml

  # in a GitLab merge request: a Code Quality report
  cac validate --format gitlab > gl-code-quality-report.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(c.format); err != nil {
				return err
			}
			v, err := loadStandard(cmd.Context(), c)
			if err != nil {
				return err
			}
			res, err := pipeline.Run(cmd.Context(), pipeline.Options{
				CodeDir: c.dir, ConfigRepo: c.configRepo, USN: c.usn, Branch: c.branch, Regions: c.regions,
				Validator: v, Getenv: e.getenv, Stderr: e.stderr, ValidateOnly: true, Fetch: configrepo.Options{Budget: budgetOption(c.fetchBudget)},
				ConfigChecks: []pipeline.ConfigCheck{envs.TodoFindings},
			})
			recordBuild(e, res)
			if res != nil && (len(res.Findings) > 0 || c.format != "text") {
				if perr := printFindings(e, c.format, "cac validate", res.Findings); perr != nil {
					return perr
				}
			}
			if err != nil {
				return err
			}
			r := res.Report
			fmt.Fprintf(e.stderr, "validated %s of %s against %s: %s\n", count(len(r.Regions), "region"), serviceName(c.usn),
				standardName(c.standard), okOrWarnings(res.Findings))
			fmt.Fprintf(e.stderr, "regions: %s\n", strings.Join(r.Regions, ", "))
			return nil
		},
	}
}

func serviceName(usn string) string {
	if usn == "" {
		return "the config repo"
	}
	return usn
}

func standardName(ref string) string {
	if ref == "" {
		return "the built-in standard"
	}
	return ref
}

func okOrWarnings(fs []report.Finding) string {
	if len(fs) == 0 {
		return "no findings"
	}
	return count(len(fs), "warning")
}

func newSchemaCmd(c *common, e env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Write a JSON Schema of the standard, so editors check region files as you type",
		Long: `schema writes a JSON Schema (draft-07) of the standard: types, allowed values, patterns,
required keys and descriptions. Point yaml-language-server (VS Code's YAML extension, Neovim,
JetBrains) at it and region files are checked while they are typed:

  # yaml-language-server: $schema=../cac-schema.json     (first line of a region file)

or, for every region file of a config repo, in .vscode/settings.json:

  "yaml.schemas": {"./cac-schema.json": ["*/*.yaml", "_global/*.yaml"]}`,
		Example: `  cac schema > cac-schema.json
  cac schema --standard rules/standard.yaml -o cac-schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			std, err := openStandard(cmd.Context(), c)
			if err != nil {
				return err
			}
			data, err := std.JSONSchema()
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = e.stdout.Write(data)
				return err
			}
			if err := writeFileAtomic(out, data); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the schema to `FILE` instead of stdout")
	return cmd
}

// writeFileAtomic writes data to a temporary file beside path and renames it into place.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".cac-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
