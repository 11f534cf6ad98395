// Command cac renders region config from a config repo into a service's CacRegion_ templates,
// validates it, diffs it on merge requests and publishes it for Argo CD. See README.md.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}
