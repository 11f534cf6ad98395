package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/envs"
	"github.com/cacproj/cac/pkg/sops"
)

func newRegionCmd(c *common, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "region",
		Short: "Build out a new region by the standard's delivery rules; follow its to-dos",
	}
	cmd.AddCommand(newRegionNewCmd(c, e), newRegionStatusCmd(c, e))
	return cmd
}

func newRegionNewCmd(c *common, e env) *cobra.Command {
	var w writeFlags
	var from, inventory, todo string
	cmd := &cobra.Command{
		Use:   "new NAME --from SRC",
		Short: "Create region NAME from SRC: copy, generate or list as a to-do each value, by its delivery rule",
		Long: `new writes NAME.yaml beside SRC.yaml in every service directory and in _global. The delivery
rule of each value's leaf in the standard decides:

  copy    SRC's value is kept;
  auto    the value comes from --inventory (the resources allocated for NAME), else from the
          leaf's generator expression (region = NAME, source = SRC's value, usn, values = SRC's tree);
  manual  the value is left out and listed as a to-do, per service and owner (_owners.yaml at the
          config repo root maps usn to team; otherwise "unassigned"). Values no rule covers are manual.

An inventory value fills its leaf whatever the delivery (it is the resource actually allocated):
  user: {mysql.main.ip: 10.9.1.5}
  _global: {env.physical: pre}

The to-dos are written to _todo/NAME.yaml: cac validate fails (rule delivery/manual) until each is
filled; cac region status NAME shows progress. The files are committed on cac/region-new-NAME like
env copy does (or --dry-run). SOPS-encrypted files stay encrypted as with env copy: a copied secret
is written encrypted for the source file's recipients; without an age identity only a file whose
every value is copied can be written (byte for byte), any other is refused (exit 2).`,
		Example: `  cac region new id --from sg --config-dir ../config --inventory id-resources.yaml --todo TODO-id.md`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextJSON("region new", c.format); err != nil {
				return err
			}
			if from == "" {
				return cacerr.Usage("cac region new needs --from SRC, the region to start from")
			}
			std, err := openStandard(cmd.Context(), c)
			if err != nil {
				return err
			}
			o := envs.RegionOptions{Name: args[0], From: from, Standard: std, Force: w.force}
			if o.Keys, err = sops.KeysFromEnv(e.getenv); err != nil {
				return cacerr.Usage("age identity: %w", err)
			}
			if inventory != "" {
				if o.Inventory, err = envs.LoadInventory(cmd.Context(), inventory, nil); err != nil {
					return err
				}
			}
			p, err := w.publish(e)
			if err != nil {
				return err
			}
			rep, err := envs.NewRegion(cmd.Context(), w.source(c, e), o, p)
			if err != nil {
				return err
			}
			if todo != "" {
				var b strings.Builder
				rep.WriteTodoMarkdown(&b)
				if err := writeFileAtomic(todo, []byte(b.String())); err != nil {
					return cacerr.Usage("--todo: %w", err)
				}
			}
			return writeReport(e, c.format, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "the source `REGION`")
	f.StringVar(&inventory, "inventory", "", "resources allocated for the new region: YAML `FILE` or URL, {usn: {value.path: value}}")
	f.StringVar(&todo, "todo", "", "also write the to-do list as markdown to `FILE`")
	w.add(cmd, e)
	return cmd
}

func newRegionStatusCmd(c *common, e env) *cobra.Command {
	var configDir string
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "How many of a new region's manual values are filled, per service",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextJSON("region status", c.format); err != nil {
				return err
			}
			fsys, done, err := configFS(cmd.Context(), c, e, configDir)
			if err != nil {
				return err
			}
			defer done()
			st, err := envs.Status(fsys, args[0])
			if err != nil {
				return err
			}
			return writeReport(e, c.format, st)
		},
	}
	cmd.Flags().StringVar(&configDir, "config-dir", "", configDirUsage)
	return cmd
}
