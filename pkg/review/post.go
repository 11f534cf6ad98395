package review

import (
	"context"
	"fmt"
	"html"
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
	Limit     int    // characters per comment part (default: the forge's MaxCommentChars)
	MaxParts  int    // default 10
	TargetURL string // link of the status (the CI job)
	// NoStatus leaves the commit status to the caller (Bot.RunAffected sets one for all services).
	NoStatus bool
}

// Post keeps one comment per service up to date on the merge request (split into parts when it is
// longer than the forge allows) and sets the cac/diff commit status. Every part, its headers
// included, is within the forge's comment limit.
func Post(ctx context.Context, f forge.Forge, t forge.Target, res *Result, opt PostOptions) (forge.UpsertResult, error) {
	limit := opt.Limit
	if limit == 0 {
		limit = f.MaxCommentChars()
	}
	marker := forge.Marker(opt.USN)
	var parts []string
	state, desc := forge.StateSuccess, "no change to the rendered config"
	if len(res.Findings) > 0 {
		state, desc = forge.StateFailure, fmt.Sprintf("the head does not build: %d problems", report.Errors(res.Findings))
		parts = []string{failureComment(marker, opt.USN, res, max(limit, diff.MinLimit))}
	} else {
		parts = diff.Markdown(res.Diff, diff.MarkdownOptions{
			USN:        opt.USN,
			MarkerLine: func(n int) string { return forge.MarkerLine(marker, n) },
			Intro:      sidesLine(res) + scanSection(res.Scan),
			Limit:      limit,
			MaxParts:   opt.MaxParts,
		})
		if res.Diff.Changed() {
			desc = res.Diff.Summary()
		}
	}
	up, err := forge.Upsert(ctx, f, marker, parts)
	if err != nil {
		return up, err
	}
	if t.SHA != "" && !opt.NoStatus {
		if err := f.SetStatus(ctx, t.SHA, state, StatusContext, desc, opt.TargetURL); err != nil {
			return up, err
		}
	}
	return up, nil
}

// maxName caps a branch name in the sides line; maxNote caps the note.
const maxName, maxNote = 100, 400

// sidesLine says which code commits and config branches base and head were rendered from. Names
// and the note are shown as text, never as markup.
func sidesLine(res *Result) string {
	side := func(s Side) string {
		out := fmt.Sprintf("code %s + config %s", code(shortSHA(s.CodeCommit)), code(clip(s.ConfigBranch, maxName)))
		if s.ConfigFallback {
			out += " (default branch: no " + code(clip(s.Name, maxName)) + " branch in the config repo)"
		}
		return out
	}
	line := fmt.Sprintf("<sub>base: %s · head: %s</sub>\n", side(res.Base), side(res.Head))
	if res.Base.Note != "" {
		note := strings.Join(strings.Fields(clip(res.Base.Note, maxNote)), " ")
		line += "\n> " + html.EscapeString(note) + "\n"
	}
	return line
}

// code is s as an inline code span; one holding backticks is delimited by more of them.
func code(s string) string {
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	tick := diff.Fence(s)
	return tick + " " + s + " " + tick
}

// clip shortens s to n characters, the last one "…".
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func shortSHA(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// failureComment lists the head's findings, as many as fit in limit characters.
func failureComment(marker, usn string, res *Result, limit int) string {
	var list strings.Builder
	for _, f := range res.Findings {
		list.WriteString(f.String() + "\n")
	}
	fence := diff.Fence(list.String())
	var b strings.Builder
	b.WriteString(forge.MarkerLine(marker, 1) + "\n")
	fmt.Fprintf(&b, "### cac diff: %s\n\n:x: **The head does not build** (%d problems), so there is no rendered diff. Fix these and push again:\n\n%s\n", usn, report.Errors(res.Findings), fence)
	const maxListed = 200
	// Room for the "… and N more" line and the closing fence.
	room := limit - diff.Chars(b.String()) - 200 - len(fence)
	for i, f := range res.Findings {
		l := f.String() + "\n"
		if i == maxListed || diff.Chars(l) > room {
			fmt.Fprintf(&b, "… and %d more: run `cac build` locally or read the CI job log for all of them\n", len(res.Findings)-i)
			break
		}
		b.WriteString(l)
		room -= diff.Chars(l)
	}
	b.WriteString(fence + "\n")
	return b.String()
}
