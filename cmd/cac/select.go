package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/pipeline"
)

func newSelectCmd(c *common, e env) *cobra.Command {
	var out, region string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "select",
		Short: "At service start-up, put one region's rendered files over the originals",
		Long: `select copies <out>/<region>/** (written by cac build) over the working tree, so the service
starts with its region's config. Each file is written aside and renamed into place, so a reader
never sees a half-written file. The region comes from --region or CAC_REGION.

Without --out, the output is where cac build writes it: output/cac/<usn> with --usn (or CAC_USN,
or usn in .cac.yaml); without a usn, output/cac, or the only service output under it.`,
		Example: `  # in the container's start script, before the service starts
  cac select --region "$CAC_REGION"

  # see what would be replaced
  cac select --region sg --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			output, err := readOutput(c, out)
			if err != nil {
				return err
			}
			files, err := pipeline.Select(pipeline.SelectOptions{Output: output, Root: c.dir, Region: region, DryRun: dryRun})
			if err != nil {
				return err
			}
			verb := "selected"
			if dryRun {
				verb = "would select"
			}
			for _, f := range files {
				fmt.Fprintln(e.stdout, f)
			}
			fmt.Fprintf(e.stderr, "%s region %s: %s\n", verb, region, count(len(files), "file"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&region, "region", "", "the region to select (or CAC_REGION)")
	f.StringVar(&out, "out", "", "the build output `DIR`, relative to the code dir (default: found like cac build writes it)")
	f.BoolVar(&dryRun, "dry-run", false, "list the files that would be replaced; change nothing")
	return cmd
}

// readOutput reads the build output of select, publish --no-build and subenv: --out when set, else
// where cac build writes it for --usn (pipeline.FindOutput).
func readOutput(c *common, out string) (*pipeline.Output, error) {
	dir := out
	if dir == "" {
		var err error
		if dir, err = pipeline.FindOutput(c.dir, c.usn); err != nil {
			return nil, err
		}
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(c.dir, dir)
	}
	return pipeline.ReadOutput(dir)
}
