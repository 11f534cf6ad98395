package gitops

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"sort"

	"github.com/cacproj/cac/pkg/cacerr"
)

// readBuildInfo reads what Publish needs from cac-report.json, leniently: the code and config
// commits ("codeCommit"/"configCommit", or "code": {"commit"}, "config": {"commit"}, snake_case
// accepted) and the regions ("regions": a list of names, of {"name"} objects, or a map keyed by
// region). Unknown fields are ignored; a missing report leaves the commits unknown.
func readBuildInfo(path string) (buildInfo, error) {
	var info buildInfo
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return info, nil
	}
	if err != nil {
		return info, cacerr.Usage("read build report: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return info, cacerr.Usage("build report %s: %w", path, err)
	}
	info.codeCommit = commitOf(m, "code")
	info.configCommit = commitOf(m, "config")
	switch r := m["regions"].(type) {
	case []any:
		for _, x := range r {
			switch x := x.(type) {
			case string:
				info.regions = append(info.regions, x)
			case map[string]any:
				if s, ok := x["name"].(string); ok {
					info.regions = append(info.regions, s)
				}
			}
		}
	case map[string]any:
		for k := range r {
			info.regions = append(info.regions, k)
		}
		sort.Strings(info.regions)
	}
	return info, nil
}

func commitOf(m map[string]any, what string) string {
	for _, k := range []string{what + "Commit", what + "_commit"} {
		if s, ok := m[k].(string); ok {
			return s
		}
	}
	if sub, ok := m[what].(map[string]any); ok {
		if s, ok := sub["commit"].(string); ok {
			return s
		}
	}
	return ""
}
