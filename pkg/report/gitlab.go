package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
)

// GitLab Code Quality report (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format).
type glIssue struct {
	Description string     `json:"description"`
	CheckName   string     `json:"check_name"`
	Fingerprint string     `json:"fingerprint"`
	Severity    string     `json:"severity"`
	Location    glLocation `json:"location"`
}

type glLocation struct {
	Path  string  `json:"path"`
	Lines glLines `json:"lines"`
}

type glLines struct {
	Begin int `json:"begin"`
}

// writeGitLab prints a Code Quality JSON array. The fingerprint hashes rule, file, value path, region
// and message, not the line, so GitLab tracks an issue across line shifts; a repeat of the same issue
// in one file gets its occurrence number mixed in so fingerprints stay unique. Errors are "major",
// warnings "minor". A finding without a file is placed at the repository root (".").
func writeGitLab(w io.Writer, fs []Finding, _ Options) error {
	issues := make([]glIssue, 0, len(fs))
	seen := map[string]int{}
	for _, f := range fs {
		key := f.Rule + "\x00" + f.File + "\x00" + f.Path + "\x00" + f.Region + "\x00" + f.Message
		if n := seen[key]; n > 0 {
			key += "\x00" + strconv.Itoa(n)
		}
		seen[key]++
		sum := sha256.Sum256([]byte(key))
		sev := "major"
		if f.isWarning() {
			sev = "minor"
		}
		path := f.File
		if path == "" {
			path = "."
		}
		issues = append(issues, glIssue{
			Description: f.label(),
			CheckName:   f.Rule,
			Fingerprint: hex.EncodeToString(sum[:]),
			Severity:    sev,
			Location:    glLocation{Path: path, Lines: glLines{Begin: max(f.Line, 1)}},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(issues)
}
