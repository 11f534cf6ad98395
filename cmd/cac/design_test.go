package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestDesignDocFlags holds docs/design.md §4 to the command tree: every command is in the command
// table, and every row of the "Command flags" table names exactly the visible flags of its commands
// (their own flags, not the common ones), so the contract cannot drift from the code.
func TestDesignDocFlags(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(rootDir, "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "\n## 4. ")
	end := strings.Index(doc[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("docs/design.md has no §4")
	}
	sec := doc[start : start+1+end]
	root := newRoot(env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }})

	// every leaf command appears in the command table as `cac <path>`
	for _, path := range leafCommands(root) {
		if !strings.Contains(sec, "`cac "+path) {
			t.Errorf("docs/design.md §4: the command table does not name `cac %s`", path)
		}
	}

	flagsAt := strings.Index(sec, "**Command flags.**")
	if flagsAt < 0 {
		t.Fatal(`docs/design.md §4 has no "**Command flags.**" table`)
	}
	table := sec[flagsAt:]
	if i := strings.Index(table, "|"); i >= 0 {
		if j := strings.Index(table[i:], "\n\n"); j >= 0 {
			table = table[:i+j]
		}
	}
	row := regexp.MustCompile("(?m)^\\| ([a-z][a-z ,-]*?) \\| (.*) \\|$")
	flagRe := regexp.MustCompile("`(-[a-zA-Z], )?--([a-z][a-z0-9-]*)")
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		if m[1] == "command" {
			continue
		}
		documented := map[string]bool{}
		for _, f := range flagRe.FindAllStringSubmatch(m[2], -1) {
			documented[f[2]] = true
		}
		for _, name := range strings.Split(m[1], ",") {
			name = strings.TrimSpace(name)
			seen[name] = true
			cmd := findPath(root, name)
			if cmd == nil {
				t.Errorf("docs/design.md §4: the flag table names `%s`, which is no cac command", name)
				continue
			}
			own := ownFlags(cmd)
			for f := range documented {
				if !own[f] {
					t.Errorf("docs/design.md §4: cac %s has no flag --%s", name, f)
				}
			}
			for f := range own {
				if !documented[f] {
					t.Errorf("docs/design.md §4: the row of cac %s does not list its flag --%s", name, f)
				}
			}
		}
	}
	for _, path := range leafCommands(root) {
		if !seen[path] && len(ownFlags(findPath(root, path))) > 0 {
			t.Errorf("docs/design.md §4: the flag table has no row for cac %s", path)
		}
	}
}

func leafCommands(root *cobra.Command) []string {
	var out []string
	var walk func(c *cobra.Command, prefix string)
	walk = func(c *cobra.Command, prefix string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := strings.TrimSpace(prefix + " " + sub.Name())
			if sub.HasSubCommands() {
				walk(sub, p)
				continue
			}
			out = append(out, p)
		}
	}
	walk(root, "")
	sort.Strings(out)
	return out
}

func findPath(root *cobra.Command, path string) *cobra.Command {
	c := root
	for _, name := range strings.Fields(path) {
		if c = findCmd(c, name); c == nil {
			return nil
		}
	}
	return c
}

// ownFlags are a command's visible local flags, without the common (persistent) ones and help.
func ownFlags(cmd *cobra.Command) map[string]bool {
	out := map[string]bool{}
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" {
			out[f.Name] = true
		}
	})
	return out
}
