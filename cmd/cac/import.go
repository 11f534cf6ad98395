package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/migrate"
)

func newImportCmd(c *common, e env) *cobra.Command {
	var o migrate.Options
	var files, maps []string
	var jobsFile string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Turn per-region config files into a CacRegion_ template and region YAMLs",
		Long: `import reads the per-region variants of a config file (conf/app.sg.toml, conf/app.us.toml …)
and writes one CacRegion_ template into the code repo plus each region's values into the config
repo (<usn>/<region>.yaml, merged into an existing file with its comments kept). Values equal in
every region stay literal, except secret-looking keys (password, token ...), which always move to
the config repo. Values that differ become placeholders named by their keys, following the
standard where the structure matches (a database host/port → mysql.<tag>.ip / port) and the
values with their siblings satisfy its rules there (--standard), else under extend.<key path>
(--root); the report says why a value was kept under extend. YAML, JSON, TOML, INI and properties are read by structure; other text
line by line. Secret-looking keys are listed (never their values) so the standard can mark them.

The import is lossless: before writing anything it renders the template with the new region
values and compares every region's file byte for byte with the original. Any difference and
nothing is written (exit 1, naming the file and line). Writes are all or nothing.`,
		Example: `  # one file, three regions, into a checkout of the config repo
  cac import --pattern 'conf/app.{region}.toml' --config-dir ../config --usn user

  # explicit files, renaming a derived path, without writing
  cac import --file conf/prod-sg.ini=sg-prod --file conf/prod-us.ini=us-prod \
    --map extend.db.url=mysql.main.domain --config-dir ../config --usn user --dry-run

  # many services at once, one report
  cac import --jobs import-jobs.yaml --config-dir ../config --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch c.format {
			case "text", "json":
			default:
				if err := checkFormat(c.format); err != nil {
					return err
				}
			}
			if o.ConfigDir == "" {
				return cacerr.Usage("set --config-dir to a checkout of the config repo to write the region files into")
			}
			o.CodeDir, o.USN = c.dir, c.usn
			var err error
			if o.Standard, err = openStandard(cmd.Context(), c); err != nil {
				return err
			}
			if o.Pairs, err = migrate.ParsePairs("--file", files); err != nil {
				return err
			}
			if o.Map, err = migrate.ParsePairs("--map", maps); err != nil {
				return err
			}
			jobs := []migrate.Options{o}
			if jobsFile != "" {
				f, err := os.Open(jobsFile)
				if err != nil {
					return cacerr.Usage("read --jobs: %w", err)
				}
				defer f.Close()
				if jobs, err = migrate.LoadJobs(f, filepath.Dir(jobsFile), o); err != nil {
					return err
				}
			} else if o.Pattern == "" && len(o.Pairs) == 0 {
				return cacerr.Usage("name the variants with --pattern 'conf/app.{region}.toml', --file FILE=REGION, or --jobs FILE")
			}
			rep, err := migrate.ImportBatch(cmd.Context(), jobs)
			if rep != nil {
				var werr error
				switch c.format {
				case "text":
					werr = rep.WriteText(e.stdout)
				case "json":
					werr = rep.WriteJSON(e.stdout)
				default:
					werr = printFindings(e, c.format, "cac import", rep.Findings())
				}
				if werr != nil {
					return werr
				}
			}
			if err != nil {
				return cacerr.Wrap(cacerr.Kind(cacerr.ExitCode(err)), errQuiet)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Pattern, "pattern", "", "the region variants of one file; {region} marks the region name, e.g. `conf/app.{region}.toml`")
	f.StringArrayVar(&files, "file", nil, "a variant and its region, `FILE=REGION` (repeatable)")
	f.StringVar(&o.Template, "template", "", "template `PATH` (default: the pattern without {region}, prefixed CacRegion_)")
	f.StringArrayVar(&maps, "map", nil, "rename a value path or prefix, `OLD=NEW` (repeatable), e.g. extend.db.url=mysql.main.domain")
	f.StringVar(&o.Root, "root", migrate.DefaultRoot, "subtree for the service's own settings")
	f.StringVar(&o.ConfigDir, "config-dir", "", configDirUsage+"; <usn>/<region>.yaml are written there (required)")
	f.StringVar(&jobsFile, "jobs", "", "batch: a YAML `FILE` with one job per service")
	f.BoolVar(&o.DryRun, "dry-run", false, "compute and verify, write nothing")
	return cmd
}
