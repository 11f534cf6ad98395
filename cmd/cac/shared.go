package main

import (
	"io"
)

// textOrJSON is a report printed as text or, with --format json, as JSON.
type textOrJSON interface {
	WriteText(io.Writer) error
	WriteJSON(io.Writer) error
}

func writeReport(e env, format string, r textOrJSON) error {
	if format == "json" {
		return r.WriteJSON(e.stdout)
	}
	return r.WriteText(e.stdout)
}

// configDirUsage is --config-dir's one meaning in every command that has it: a local checkout of
// the config repo, read from and, by the commands that change the config repo, written to.
const configDirUsage = "a local checkout `DIR` of the config repo, read from (instead of --config-repo) and written to by commands that change it"
