package gitremote

import "testing"

func TestSameRepo(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"https://github.com/acme/config.git", "https://github.com/acme/config", true},
		{"https://x-access-token:t@GitHub.com/acme/config.git/", "http://github.com/acme/config.git", true},
		{"git@github.com:acme/config.git", "https://github.com/acme/config.git", true},
		{"ssh://git@gitlab.example.com:2222/shop/config.git", "https://gitlab.example.com/shop/config", true},
		{"http://127.0.0.1:8080/cfg.git", "http://127.0.0.1:8080/cfg", true},
		{"http://127.0.0.1:8080/cfg.git", "http://127.0.0.1:9090/cfg.git", false},
		{"https://github.com/acme/config.git", "https://github.com/acme/user.git", false},
		{"https://github.com/acme/config.git", "https://gitlab.com/acme/config.git", false},
		{"/srv/git/config.git", "file:///srv/git/config", true},
		{"/srv/git/config.git", "https://srv/git/config.git", false},
		{"", "https://github.com/acme/config.git", false},
	} {
		if got := SameRepo(tc.a, tc.b); got != tc.want {
			t.Errorf("SameRepo(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
