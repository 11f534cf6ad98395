package main

import (
	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/envs"
)

func newSubenvCmd(c *common, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subenv",
		Short: "Sub-environments: a few services deployed under a name, routed by header, the rest from the base",
	}
	cmd.AddCommand(newSubenvCreateCmd(c, e), newSubenvDeleteCmd(e))
	return cmd
}

func newSubenvCreateCmd(c *common, e env) *cobra.Command {
	o := envs.SubenvOptions{}
	var out string
	cmd := &cobra.Command{
		Use:   "create NAME --base REGION --services a,b",
		Short: "Generate a sub-environment's workloads and its Istio routing from the base region's manifests",
		Long: `create reads the base region's rendered Kubernetes manifests (cac build output: <out>/REGION/**/deploy/)
and, for each service named, writes a copy of its Deployments and StatefulSets named <name>-NAME and
labelled cac.io/subenv: NAME (metadata, selector, pod template), plus an Istio DestinationRule (subsets
base and NAME, by the label cac.io/subenv) and VirtualService: requests carrying the header
(--header, default x-cac-env) with value NAME go to the sub-environment, every other request to the
base subset. --weight N also sends N% of the other requests to the sub-environment (a canary); the
header match still routes all of its requests there.

The base pods must carry the label cac.io/subenv: base (add it to the pod templates once); create
warns about every base workload without it. Every service on the call path must forward the header
on its outgoing calls (OpenTelemetry baggage, or a small middleware), or requests fall back to base.`,
		Example: `  cac subenv create feat-x --base sg --services user,order --header x-mse-tag
  cac subenv create canary --base sg --services user --weight 10`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextJSON("subenv create", c.format); err != nil {
				return err
			}
			if o.Base == "" {
				return cacerr.Usage("cac subenv create needs --base REGION")
			}
			o.Name = args[0]
			output, err := readOutput(c, out)
			if err != nil {
				return err
			}
			o.Output = output
			rep, err := envs.CreateSubenv(o)
			if err != nil {
				return err
			}
			return writeReport(e, c.format, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Base, "base", "", "the base `REGION`")
	f.StringSliceVar(&o.Services, "services", nil, "services to deploy in the sub-environment, comma-separated")
	f.StringVar(&o.Header, "header", envs.DefaultHeader, "request header whose value NAME routes to the sub-environment")
	f.IntVar(&o.Weight, "weight", 0, "also route `N`% of requests without the header to the sub-environment")
	f.StringVar(&out, "out", "", "cac build output `DIR` holding <out>/REGION/ (default: found like cac select finds it)")
	f.StringVar(&o.Dest, "dest", "", "write to `DIR` (default output/subenv/NAME)")
	return cmd
}

func newSubenvDeleteCmd(e env) *cobra.Command {
	var dest string
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a generated sub-environment directory",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if dest == "" {
				dest = envs.SubenvDir(args[0])
			}
			if err := envs.DeleteSubenv(dest); err != nil {
				return err
			}
			e.stderr.Write([]byte("deleted " + dest + "\n"))
			return nil
		},
	}
	cmd.Flags().StringVar(&dest, "dest", "", "the sub-environment's `DIR` (default output/subenv/NAME)")
	return cmd
}
