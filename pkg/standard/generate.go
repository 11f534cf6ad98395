package standard

import (
	"fmt"

	"github.com/expr-lang/expr"
)

// GenerateInput is what a generator sees when a new region is built (cac region new): region is the
// new region, source the source region's value at the leaf (also given as value), values the source
// region's tree as plain values.
type GenerateInput struct {
	Region string
	USN    string
	Path   string
	Source any
	Values map[string]any
}

// Generate evaluates the leaf's generator expression. A leaf without one is an error.
func (r *Rule) Generate(in GenerateInput) (any, error) {
	if r.generator == nil {
		return nil, fmt.Errorf("%s: no generator", r.Path)
	}
	out, err := expr.Run(r.generator, exprEnv{Value: in.Source, Path: in.Path, Region: in.Region, USN: in.USN, Values: in.Values, Source: in.Source})
	if err != nil {
		return nil, fmt.Errorf("%s: generator %q: %w", in.Path, r.Generator, err)
	}
	return out, nil
}
