package standard

import (
	"io/fs"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/values"
)

// CheckOptions select what Check validates in a config repo checkout.
type CheckOptions struct {
	Config   fs.FS    // the config repo at the resolved branch (<usn>/<region>.yaml, _global/<region>.yaml)
	USN      string   // the service's directory; "" for a single-service config repo
	Regions  []string // nil: every region of the service
	Registry *Registry
}

// Check validates a service's effective values in each region, the job of `cac validate`. It
// returns every finding (broken YAML included), in report.Sort order; err is a usage error for an
// unknown service or region, or an unreadable file.
func (s *Standard) Check(opt CheckOptions) ([]report.Finding, error) {
	all, err := values.Regions(opt.Config, opt.USN)
	if err != nil {
		return nil, cacerr.Usage("validate: %w", err)
	}
	regions := opt.Regions
	if regions == nil {
		regions = all
	}
	for _, r := range regions {
		if !contains(all, r) {
			return nil, cacerr.Usage("validate: service %q has no region %q (regions: %s)", opt.USN, r, strings.Join(all, ", "))
		}
	}
	var findings []report.Finding
	for _, r := range regions {
		v, probs, err := values.Load(opt.Config, opt.USN, r)
		if err != nil {
			return nil, cacerr.Usage("validate region %s: %w", r, err)
		}
		for _, p := range probs {
			p.Region = r
			findings = append(findings, p)
		}
		if len(probs) > 0 {
			continue // half-read values would only add misleading findings
		}
		findings = append(findings, s.Validate(Input{Region: r, USN: opt.USN, Values: v, Registry: opt.Registry})...)
	}
	report.Sort(findings)
	return findings, nil
}
