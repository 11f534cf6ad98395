package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/scan"
)

func newScanCmd(c *common, e env) *cobra.Command {
	var baseline, writeBaseline, out string
	var exclude []string
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "Find region names and hard-coded addresses left in code (anti-corruption check)",
		Long: `scan looks through the code for what belongs in the config repo:

  scan/env-compare        region or environment names used in logic (if region == "sg-prod")
  scan/hardcoded-address  IPs, host names and URLs in string literals: an error when the config
                          repo manages that exact value (use its placeholder instead), else a warning
  scan/per-env-file       per-environment config files that are not CacRegion_ templates

Go, Java, Kotlin, JavaScript/TypeScript, Python, PHP, Ruby, C-like languages and config files are
read with comments skipped. Region names come from --regions, else from the config repo (its
region files and their env.group / env.physical values); managed addresses from the config repo's
values (never secret ones).

--baseline accepts existing findings (matched by rule, file and line text, not line number), so
only new ones fail: the merge-request check for increments. --write-baseline records the current
findings as accepted. Exit 1 when new errors are found.`,
		Example: `  # the whole code repo, with region names and addresses from the config repo
  cac scan --config-repo ../config --usn user

  # a merge request: fail only on new findings, as GitHub code scanning results
  cac scan --baseline .cac-scan-baseline.json --format sarif > cac-scan.sarif

  # accept today's findings, fix them over time
  cac scan --write-baseline .cac-scan-baseline.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(c.format); err != nil {
				return err
			}
			opt := scan.Options{Root: c.dir, Paths: args, Regions: c.regions, Exclude: exclude, OutDir: out, KnownValues: map[string]string{}}
			if c.configRepo != "" {
				if err := fromConfigRepo(cmd, c, e, &opt); err != nil {
					return err
				}
			} else if len(opt.Regions) == 0 {
				fmt.Fprintln(e.stderr, "cac: no --config-repo and no --regions: only addresses are checked")
			}
			findings, err := scan.Run(cmd.Context(), opt)
			if err != nil {
				return err
			}
			if writeBaseline != "" {
				var buf strings.Builder
				if err := scan.WriteBaseline(&buf, findings); err != nil {
					return err
				}
				if err := writeFileAtomic(writeBaseline, []byte(buf.String())); err != nil {
					return cacerr.Usage("write baseline: %w", err)
				}
				fmt.Fprintf(e.stderr, "wrote %s accepting %s\n", writeBaseline, count(len(findings), "finding"))
				return nil
			}
			total := len(findings)
			if baseline != "" {
				b, err := scan.LoadBaseline(baseline)
				if err != nil {
					return err
				}
				findings = scan.Filter(findings, b)
			}
			if len(findings) > 0 || c.format != "text" {
				if err := printFindings(e, c.format, "cac scan", findings); err != nil {
					return err
				}
			}
			if baseline != "" {
				fmt.Fprintf(e.stderr, "%s, %s accepted by %s\n", count(len(findings), "new finding"), count(total-len(findings), "finding"), baseline)
			}
			if n := report.Errors(findings); n > 0 {
				return cacerr.Findings(n, "new "+plural(n, "problem")+" found")
			}
			if len(findings) == 0 {
				fmt.Fprintln(e.stderr, "scan: no findings")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&baseline, "baseline", "", "accept the findings listed in `FILE`; only new ones fail")
	f.StringVar(&writeBaseline, "write-baseline", "", "write every current finding to `FILE` as accepted, then exit 0")
	f.StringSliceVar(&exclude, "exclude", nil, "skip files or directories matching `GLOB` (repeatable): '*_test.go', 'testdata/**'")
	f.StringVar(&out, "out", pipeline.DefaultOut, "cac build's output `DIR`, never scanned")
	return cmd
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// fromConfigRepo reads the config repo's effective values (validated, not rendered) and lets scan
// derive region names and managed addresses from them.
func fromConfigRepo(cmd *cobra.Command, c *common, e env, opt *scan.Options) error {
	std, err := openStandard(cmd.Context(), c)
	if err != nil {
		return err
	}
	res, err := pipeline.Run(cmd.Context(), pipeline.Options{CodeDir: c.dir, ConfigRepo: c.configRepo, USN: c.usn,
		Branch: c.branch, Getenv: e.getenv, Stderr: e.stderr, ValidateOnly: true})
	if err != nil {
		if res != nil && len(res.Findings) > 0 {
			_ = printFindings(e, c.format, "cac scan", res.Findings)
		}
		return err
	}
	secrets := map[string][]string{}
	for region, v := range res.Values {
		for _, s := range std.Secrets(v) {
			secrets[region] = append(secrets[region], s.Path)
		}
	}
	opt.UseConfig(res.Values, secrets)
	return nil
}
