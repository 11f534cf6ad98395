// Package rules ships the default standard (docs/design.md §3) inside the binary, so `--standard` has a
// working default from any directory. Files the standard refers to (the `$whitelist` of `extend`)
// are embedded beside it and resolved relative to this directory.
package rules

import "embed"

// Standard is the default standard, rules/standard.yaml.
//
//go:embed standard.yaml
var Standard []byte

// FS holds the default standard and the files it refers to (whitelist.yaml), by their names in rules/.
//
//go:embed standard.yaml whitelist.yaml
var FS embed.FS

// StandardName is the display name of the default standard in messages.
const StandardName = "rules/standard.yaml"
