package review

import (
	"context"
	"fmt"
	"strings"

	"github.com/cacproj/cac/pkg/diff"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/report"
)

// StatusContext names the commit status cac sets.
const StatusContext = "cac/diff"

// PostOptions configure the merge-request comment.
type PostOptions struct {
	USN       string
	Limit     int    // characters per comment part (default: the forge's limit)
	MaxParts  int    // default 10
	TargetURL string // link of the status (the CI job)
}

// Marker identifies a service's comments on a merge request.
func Marker(usn string) string {
	if usn == "" {
		usn = "config"
	}
	return "cac-diff:" + usn
}

// Post keeps one comment per service up to date on the merge request (split into parts when it is
// longer than the forge allows) and sets the cac/diff commit status.
func Post(ctx context.Context, f forge.Forge, t forge.Target, res *Result, opt PostOptions) (forge.UpsertResult, error) {
	limit := opt.Limit
	if limit == 0 {
		limit = diff.GitHubLimit
		if t.Kind == forge.GitLabKind {
			limit = diff.GitLabLimit
		}
	}
	marker := Marker(opt.USN)
	var parts []string
	state, desc := forge.StateSuccess, "no change to the rendered config"
	if len(res.Findings) > 0 {
		state, desc = forge.StateFailure, fmt.Sprintf("the head does not build: %d problems", report.Errors(res.Findings))
		parts = []string{failureComment(marker, opt.USN, res)}
	} else {
		parts = diff.Markdown(res.Diff, diff.MarkdownOptions{USN: opt.USN, Marker: marker, Limit: limit, MaxParts: opt.MaxParts})
		parts[0] = insertAfterFirstLine(parts[0], sidesLine(res)+scanSection(res.Scan))
		if res.Diff.Changed() {
			desc = res.Diff.Summary()
		}
	}
	up, err := forge.Upsert(ctx, f, marker, parts)
	if err != nil {
		return up, err
	}
	if t.SHA != "" {
		if err := f.SetStatus(ctx, t.SHA, state, StatusContext, desc, opt.TargetURL); err != nil {
			return up, err
		}
	}
	return up, nil
}

func insertAfterFirstLine(s, line string) string {
	i := strings.IndexByte(s, '\n')
	if i < 0 || line == "" {
		return s
	}
	return s[:i+1] + line + "\n" + s[i+1:]
}

func sidesLine(res *Result) string {
	side := func(s Side) string {
		out := fmt.Sprintf("code `%s` + config `%s`", shortSHA(s.CodeCommit), s.ConfigBranch)
		if s.ConfigFallback {
			out += " (default branch: no `" + s.Name + "` branch in the config repo)"
		}
		return out
	}
	line := fmt.Sprintf("<sub>base: %s · head: %s</sub>\n", side(res.Base), side(res.Head))
	if res.Base.Note != "" {
		line += "\n> " + res.Base.Note + "\n"
	}
	return line
}

func shortSHA(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func failureComment(marker, usn string, res *Result) string {
	var b strings.Builder
	b.WriteString(diff.MarkerLine(marker, 1) + "\n")
	fmt.Fprintf(&b, "### cac diff: %s\n\n:x: **The head does not build** (%d problems), so there is no rendered diff. Fix these and push again:\n\n```\n", usn, report.Errors(res.Findings))
	const maxListed = 200 // keeps the comment far below every forge's limit
	for i, f := range res.Findings {
		if i == maxListed {
			fmt.Fprintf(&b, "… and %d more: run `cac build` locally or read the CI job log for all of them\n", len(res.Findings)-maxListed)
			break
		}
		b.WriteString(f.String() + "\n")
	}
	b.WriteString("```\n")
	return b.String()
}
