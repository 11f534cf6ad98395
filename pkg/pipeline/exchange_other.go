//go:build !linux

package pipeline

import "errors"

// exchange has no atomic directory exchange to use on this platform: swap renames the old tree
// aside instead.
func exchange(a, b string) error { return errors.ErrUnsupported }
