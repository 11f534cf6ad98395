package report

import (
	"encoding/json"
	"io"
	"net/url"
)

// SARIF 2.1.0, the subset GitHub code scanning reads
// (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning).
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name    string      `json:"name"`
	Version string      `json:"version,omitempty"`
	Rules   []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string    `json:"id"`
	ShortDescription sarifText `json:"shortDescription"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// writeSARIF prints one run of the "cac" driver: a rule per distinct rule id (in order of first use)
// and a result per finding. File paths are relative URIs against %SRCROOT%, the checkout root.
// A finding without a file has no location.
func writeSARIF(w io.Writer, fs []Finding, opt Options) error {
	driver := sarifDriver{Name: "cac", Version: opt.Version, Rules: []sarifRule{}}
	index := map[string]int{}
	results := make([]sarifResult, 0, len(fs))
	for _, f := range fs {
		rule := f.Rule
		if rule == "" {
			rule = "cac"
		}
		i, ok := index[rule]
		if !ok {
			i = len(driver.Rules)
			index[rule] = i
			driver.Rules = append(driver.Rules, sarifRule{ID: rule, ShortDescription: sarifText{Text: rule}})
		}
		level := "error"
		if f.isWarning() {
			level = "warning"
		}
		r := sarifResult{RuleID: rule, RuleIndex: i, Level: level, Message: sarifText{Text: f.label()}}
		if f.File != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: (&url.URL{Path: f.File}).String(), URIBaseID: "%SRCROOT%"}}}
			if f.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line, StartColumn: f.Col}
			}
			r.Locations = []sarifLocation{loc}
		}
		results = append(results, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}},
	})
}
