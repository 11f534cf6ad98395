package standard

import (
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	std, err := Load("gen.yaml", []byte(`
env:
  group: {type: string, delivery: auto, generator: 'region + "-" + usn'}
  router: {type: string, delivery: auto, generator: 'source + "-" + region'}
  port: {type: int, delivery: auto, generator: 'source + 1'}
  zone: {type: string, delivery: auto, generator: 'values.env.router'}
  copied: {type: string, delivery: copy}
`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{"env": map[string]any{"router": "base"}}
	for path, want := range map[string]any{"env.group": "id-user", "env.router": "base-id", "env.port": 8081, "env.zone": "base"} {
		src := any("base")
		if path == "env.port" {
			src = 8080
		}
		got, err := std.Leaf(path).Generate(GenerateInput{Region: "id", USN: "user", Path: path, Source: src, Values: vals})
		if err != nil || got != want {
			t.Errorf("%s: %v (%T), %v; want %v", path, got, got, err, want)
		}
	}
	if _, err := std.Leaf("env.copied").Generate(GenerateInput{}); err == nil || !strings.Contains(err.Error(), "no generator") {
		t.Errorf("copy leaf: %v", err)
	}
	if _, err := std.Leaf("env.port").Generate(GenerateInput{Path: "env.port", Source: "x"}); err == nil {
		t.Error("a failing generator gave no error")
	}
}
