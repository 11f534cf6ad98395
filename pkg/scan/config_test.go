package scan

import (
	"slices"
	"testing"

	"github.com/cacproj/cac/pkg/values"
)

func mustParse(t *testing.T, file, src string) *values.Node {
	t.Helper()
	n, finds := values.Parse(file, []byte(src))
	if len(finds) > 0 {
		t.Fatalf("%s: %v", file, finds)
	}
	return n
}

func TestUseConfig(t *testing.T) {
	vals := map[string]*values.Node{
		"sg-prod": mustParse(t, "user/sg-prod.yaml", "env: {group: online, physical: small}\nmysql:\n  main: {ip: 10.1.2.3, password: 10.9.9.9}\n"),
		"us-prod": mustParse(t, "user/us-prod.yaml", "env: {group: online, physical: us1}\nredis:\n  cache: {host: redis.us.shop.internal}\n"),
	}
	secrets := map[string][]string{"sg-prod": {"mysql.main.password"}}

	var o Options
	o.UseConfig(vals, secrets)
	if want := []string{"online", "sg-prod", "us-prod", "us1"}; !slices.Equal(o.Regions, want) {
		t.Errorf("Regions = %v, want %v (\"small\" is too common a word)", o.Regions, want)
	}
	want := map[string]string{"10.1.2.3": "mysql.main.ip", "redis.us.shop.internal": "redis.cache.host"}
	if len(o.KnownValues) != len(want) {
		t.Errorf("KnownValues = %v, want %v (never a secret's value)", o.KnownValues, want)
	}
	for k, v := range want {
		if o.KnownValues[k] != v {
			t.Errorf("KnownValues[%s] = %q, want %q", k, o.KnownValues[k], v)
		}
	}

	named := Options{Regions: []string{"eu"}}
	named.UseConfig(vals, secrets)
	if !slices.Equal(named.Regions, []string{"eu"}) {
		t.Errorf("with --regions given, Regions = %v, want [eu]", named.Regions)
	}
}
