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
