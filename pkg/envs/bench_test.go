package envs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/cacproj/cac/internal/gitfixture"
)

// BenchmarkEnvCopy copies a stable region of 300 services (each with 3 regions in the repo) to a new
// region in a local work tree: plan, write, git add, one commit on a new branch. Goal: under 5 s.
func BenchmarkEnvCopy(b *testing.B) {
	files := map[string]string{"_global/stable.yaml": "env:\n  physical: online\n  group: stable\n"}
	for i := 0; i < 300; i++ {
		for _, r := range []string{"stable", "east", "west"} {
			files[fmt.Sprintf("svc%03d/%s.yaml", i, r)] = fmt.Sprintf("# service %d\nmysql:\n  main:\n    ip: 10.0.%d.%d\n    port: 3306\n    username: u%d\n    password: p%d\n    database: db%d\nenv:\n  router: base\n", i, i/250, i%250, i, i, i)
		}
	}
	root := b.TempDir()
	bare := gitfixture.Bare(b, root, "config", map[string]map[string]string{"main": files}, "main")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(root, fmt.Sprintf("work%d", i))
		if _, err := git.PlainClone(dir, false, &git.CloneOptions{URL: bare}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := Copy(ctx, Source{Dir: dir}, CopyOptions{From: "stable", To: "new", Set: []string{"env.physical=pre"}}, PublishOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(rep.Files) != 301 {
			b.Fatalf("%d files", len(rep.Files))
		}
	}
}
