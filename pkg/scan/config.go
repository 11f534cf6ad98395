package scan

import (
	"slices"
	"sort"
	"strings"

	"github.com/cacproj/cac/pkg/values"
)

// identityPaths are the values whose text names an environment as code may spell it: besides the
// region names, the group (online, preview) and physical stage of env identity (docs/design.md §3).
var identityPaths = []string{"env.group", "env.physical"}

// tooCommon are identity values too ordinary a word to look for in code ("small" is a physical
// stage, and also an adjective in every codebase).
var tooCommon = map[string]bool{"small": true}

// UseConfig fills o from the config repo's effective values, one tree per region: the region names
// and their env identity become Regions (unless the caller named Regions already), and every
// address the values hold becomes a KnownValues entry, except those at a secret path or below one.
// secrets lists each region's secret value paths.
func (o *Options) UseConfig(vals map[string]*values.Node, secrets map[string][]string) {
	names := map[string]bool{}
	for _, r := range o.Regions {
		names[r] = true
	}
	derive := len(o.Regions) == 0
	if o.KnownValues == nil {
		o.KnownValues = map[string]string{}
	}
	for region, v := range vals {
		if derive {
			names[region] = true
			for _, p := range identityPaths {
				if s, _, err := v.Leaf(p); err == nil && s != "" && !tooCommon[s] {
					names[s] = true
				}
			}
		}
		secret := secrets[region]
		AddKnownAddresses(o.KnownValues, v.Interface(), func(p string) bool {
			for _, s := range secret {
				if p == s || strings.HasPrefix(p, s+".") {
					return true
				}
			}
			return false
		})
	}
	o.Regions = o.Regions[:0]
	for n := range names {
		o.Regions = append(o.Regions, n)
	}
	sort.Strings(o.Regions)
	o.Regions = slices.Compact(o.Regions)
}
