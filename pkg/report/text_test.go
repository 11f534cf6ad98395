package report

import (
	"testing"

	"github.com/cacproj/cac/internal/golden"
)

func TestText(t *testing.T) {
	t.Run("plain", func(t *testing.T) { golden.Assert(t, render(t, "text", sample(), Options{})) })
	t.Run("color", func(t *testing.T) { golden.Assert(t, render(t, "text", sample(), Options{Color: true})) })
	t.Run("empty", func(t *testing.T) { golden.Assert(t, render(t, "text", nil, Options{})) })
	t.Run("warnings", func(t *testing.T) { golden.Assert(t, render(t, "text", sample()[:1], Options{})) })
}
