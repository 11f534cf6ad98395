package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// The CI wrappers (action.yml, actions/*/action.yml, templates/gitlab-ci.yml) name cac commands,
// flags and CAC_* variables as text. These tests hold them to the real command tree.

type actionFile struct {
	Inputs  map[string]struct{ Default string } `yaml:"inputs"`
	Outputs map[string]struct{ Value string }   `yaml:"outputs"`
	Runs    struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

// use is one place a wrapper hands cac a flag or a CAC_* variable for a command; an empty flag
// only names the command.
type use struct {
	where, command, flag string
}

var rootDir = filepath.Join("..", "..")

func readAction(t *testing.T, path string) (actionFile, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(rootDir, path))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("%s: runs.using = %q, want composite", path, a.Runs.Using)
	}
	return a, data
}

var (
	inputRef  = regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`)
	stepRef   = regexp.MustCompile(`steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)
	exprRe    = regexp.MustCompile(`\$\{\{(.*?)\}\}`)
	setFlag   = regexp.MustCompile(`set -- "\$@" (--[a-z][a-z-]*)`)
	flagToken = regexp.MustCompile(`(?:^|\s)(--[a-z][a-z-]*)`)
)

// checkRefs: every ${{ inputs.x }} is declared; every steps.<id>.outputs.<o> names a step.
func checkRefs(t *testing.T, path string, a actionFile, data []byte) {
	t.Helper()
	ids := map[string]bool{}
	for _, s := range a.Runs.Steps {
		if s.ID != "" {
			ids[s.ID] = true
		}
	}
	for _, m := range exprRe.FindAllStringSubmatch(string(data), -1) {
		for _, in := range inputRef.FindAllStringSubmatch(m[1], -1) {
			if _, ok := a.Inputs[in[1]]; !ok {
				t.Errorf("%s: ${{%s}} uses input %q, which is not declared", path, m[1], in[1])
			}
		}
		for _, st := range stepRef.FindAllStringSubmatch(m[1], -1) {
			if !ids[st[1]] {
				t.Errorf("%s: ${{%s}} names step %q, which does not exist", path, m[1], st[1])
			}
		}
	}
	// Inputs reach run scripts through env, never spliced into the script (injection).
	for _, s := range a.Runs.Steps {
		if strings.Contains(s.Run, "${{") {
			t.Errorf("%s: step %q puts an expression into its script; pass it through env", path, s.ID)
		}
	}
}

// TestActions checks action.yml and actions/*/action.yml against the cac command tree.
func TestActions(t *testing.T) {
	root, data := readAction(t, "action.yml")
	checkRefs(t, "action.yml", root, data)
	commands := []string{"build", "diff", "publish", "scan", "validate", "config merge", "config check"}
	var uses []use
	var runStep *actionStep
	for i, s := range root.Runs.Steps {
		if strings.Contains(s.Run, `"$CAC" "$@"`) {
			runStep = &root.Runs.Steps[i]
		}
	}
	if runStep == nil {
		t.Fatal(`action.yml: no step runs "$CAC" "$@"`)
	}
	if runStep.Env["GITHUB_TOKEN"] != "${{ inputs.token }}" {
		t.Errorf("action.yml: the token reaches cac as %q, want GITHUB_TOKEN: ${{ inputs.token }}", runStep.Env["GITHUB_TOKEN"])
	}
	if !strings.Contains(runStep.Run, "build | diff | publish | scan | validate | config)") {
		t.Error("action.yml: the run step does not check the command against build, diff, publish, scan, validate, config")
	}
	for _, m := range setFlag.FindAllStringSubmatch(runStep.Run, -1) {
		cmds := commands
		if m[1] == "--format" {
			cmds = []string{"build", "scan", "validate"}
		}
		for _, c := range cmds {
			uses = append(uses, use{"action.yml", c, m[1]})
		}
	}
	uses = append(uses, use{"action.yml (report path)", "build", "--out"})
	if len(uses) < 9 {
		t.Errorf("action.yml: found only %v", uses)
	}
	for _, name := range []string{"command", "config-repo", "usn", "token", "version", "args", "format"} {
		if _, ok := root.Inputs[name]; !ok {
			t.Errorf("action.yml: no input %q", name)
		}
	}
	for _, name := range []string{"report", "sarif", "exit-code"} {
		if _, ok := root.Outputs[name]; !ok {
			t.Errorf("action.yml: no output %q", name)
		}
	}
	if root.Inputs["token"].Default != "${{ github.token }}" || root.Inputs["format"].Default != "github" {
		t.Errorf("action.yml: defaults token %q, format %q", root.Inputs["token"].Default, root.Inputs["format"].Default)
	}

	// sub is the subcommand of a command group, the first word of the args it passes.
	for _, sub := range []struct{ path, command, sub string }{{"actions/diff/action.yml", "diff", ""}, {"actions/publish/action.yml", "publish", ""},
		{"actions/scan/action.yml", "scan", ""}, {"actions/config-merge/action.yml", "config", "merge"}} {
		a, data := readAction(t, sub.path)
		checkRefs(t, sub.path, a, data)
		var calls int
		for _, s := range a.Runs.Steps {
			if !strings.HasPrefix(s.Uses, "cacproj/cac@") {
				continue
			}
			calls++
			if s.With["command"] != sub.command {
				t.Errorf("%s: calls the root action with command %q, want %q", sub.path, s.With["command"], sub.command)
			}
			for k := range s.With {
				if _, ok := root.Inputs[k]; !ok {
					t.Errorf("%s: passes %q, which action.yml does not declare", sub.path, k)
				}
			}
			command, args := sub.command, s.With["args"]
			if sub.sub != "" {
				command += " " + sub.sub
				if !strings.HasPrefix(args, sub.sub+" ") {
					t.Errorf("%s: args %q do not start with the subcommand %s", sub.path, args, sub.sub)
				}
			}
			uses = append(uses, use{sub.path, command, ""})
			for _, m := range flagToken.FindAllStringSubmatch(exprRe.ReplaceAllString(args, ""), -1) {
				uses = append(uses, use{sub.path, command, m[1]})
			}
			for k := range s.Env {
				uses = append(uses, use{sub.path + " env " + k, command, k})
			}
		}
		if calls != 1 {
			t.Errorf("%s: %d calls of the root action, want 1", sub.path, calls)
		}
	}
	if !slices.Contains(uses, use{"actions/config-merge/action.yml", "config merge", "--code-commit"}) {
		t.Error("actions/config-merge/action.yml does not pass --code-commit")
	}
	if !slices.Contains(uses, use{"actions/diff/action.yml", "diff", "--post"}) {
		t.Error("actions/diff/action.yml does not pass --post")
	}
	scanAction, _ := readAction(t, "actions/scan/action.yml")
	var uploads int
	for _, s := range scanAction.Runs.Steps {
		if strings.HasPrefix(s.Uses, "cacproj/cac@") && s.With["format"] != "sarif" {
			t.Errorf("actions/scan/action.yml: scans with format %q, want sarif", s.With["format"])
		}
		if strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@") {
			uploads++
			if s.With["sarif_file"] != "${{ steps.scan.outputs.sarif }}" || !strings.HasPrefix(s.If, "always()") {
				t.Errorf("actions/scan/action.yml: upload step %+v, want sarif_file from steps.scan and if: always() (findings exit 1)", s)
			}
		}
	}
	if uploads != 1 {
		t.Errorf("actions/scan/action.yml: %d SARIF uploads, want 1", uploads)
	}
	checkUses(t, uses)
}

// checkUses looks every flag and CAC_* variable up on its command, one subtest per command.
func checkUses(t *testing.T, uses []use) {
	t.Helper()
	root := newRoot(env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }})
	byCmd := map[string][]use{}
	for _, u := range uses {
		byCmd[u.command] = append(byCmd[u.command], u)
	}
	var names []string
	for c := range byCmd {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cmd := findCmd(root, name)
			if cmd == nil {
				t.Fatalf("cac %s does not exist (named by %s)", name, byCmd[name][0].where)
			}
			for _, u := range byCmd[name] {
				if u.flag == "" {
					continue // the command exists: that is all
				}
				flag := strings.TrimPrefix(u.flag, "--")
				if strings.HasPrefix(u.flag, "CAC_") {
					flag = strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(u.flag, "CAC_"), "_", "-"))
				}
				f := lookupFlag(cmd, flag)
				if f == nil {
					t.Errorf("%s: cac %s has no flag --%s (%s)", u.where, name, flag, u.flag)
				} else if a, ok := f.Value.(*aliasValue); ok {
					t.Errorf("%s: cac %s --%s is a deprecated name (%s): use --%s", u.where, name, flag, u.flag, a.name)
				}
			}
		})
	}
}

// findCmd finds a command by its path below root ("build", "config merge").
func findCmd(root *cobra.Command, name string) *cobra.Command {
	cmd := root
	for _, word := range strings.Fields(name) {
		var next *cobra.Command
		for _, c := range cmd.Commands() {
			if c.Name() == word {
				next = c
			}
		}
		if next == nil {
			return nil
		}
		cmd = next
	}
	return cmd
}

func lookupFlag(cmd *cobra.Command, name string) *pflag.Flag {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	return cmd.InheritedFlags().Lookup(name)
}

type gitlabJob struct {
	Extends   any      `yaml:"extends"`
	Script    []string `yaml:"script"`
	Before    []string `yaml:"before_script"`
	Rules     []map[string]any
	Parallel  int `yaml:"parallel"`
	Artifacts struct {
		Paths   []string          `yaml:"paths"`
		Reports map[string]string `yaml:"reports"`
	} `yaml:"artifacts"`
}

var cacCall = regexp.MustCompile(`(?:^|[;&|(]\s*|\s)cac ([a-z][a-z-]*)([^|;&>]*)`)

// TestGitLabTemplate checks templates/gitlab-ci.yml: its jobs, rules and artifacts, and every cac
// command, flag and CAC_* variable it names.
func TestGitLabTemplate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(rootDir, "templates", "gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	jobs := map[string]gitlabJob{}
	var uses []use
	for name, node := range doc {
		if name == "variables" {
			var vars map[string]string
			if err := node.Decode(&vars); err != nil {
				t.Fatal(err)
			}
			for _, v := range []string{"CAC_VERSION", "CAC_CONFIG_REPO", "CAC_USN"} {
				if _, ok := vars[v]; !ok {
					t.Errorf("variables: no %s", v)
				}
			}
			for v := range vars {
				if v != "CAC_VERSION" {
					for _, c := range []string{"build", "validate", "diff", "publish", "scan", "config merge", "config check"} {
						uses = append(uses, use{"variables", c, v})
					}
				}
			}
			continue
		}
		var j gitlabJob
		if err := node.Decode(&j); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		jobs[name] = j
	}
	for name, j := range jobs {
		if ext, ok := j.Extends.(string); ok {
			if _, ok := jobs[ext]; !ok {
				t.Errorf("%s extends %s, which does not exist", name, ext)
			}
		}
		for _, line := range append(append([]string(nil), j.Before...), j.Script...) {
			for _, m := range cacCall.FindAllStringSubmatch(line, -1) {
				command, rest := m[1], m[2]
				if command == "config" { // a command group: the next word names the command
					words := strings.Fields(rest)
					if len(words) == 0 {
						t.Errorf("%s: cac config without a subcommand", name)
						continue
					}
					command, rest = command+" "+words[0], strings.Join(words[1:], " ")
				}
				for _, f := range flagToken.FindAllStringSubmatch(rest, -1) {
					uses = append(uses, use{name, command, f[1]})
				}
				uses = append(uses, use{name, command, ""})
			}
		}
	}
	want := map[string]struct {
		call, rule, codequality string
	}{
		".cac-build":        {call: "cac build --format gitlab", codequality: "gl-code-quality-report.json"},
		".cac-build-fleet":  {call: "cac build --all --format gitlab", codequality: "gl-code-quality-report.json"},
		".cac-validate":     {call: "cac validate --format gitlab", codequality: "gl-code-quality-report.json"},
		".cac-scan":         {call: "cac scan --format gitlab", codequality: "gl-code-quality-report.json"},
		".cac-diff":         {call: "cac diff --post gitlab", rule: `$CI_PIPELINE_SOURCE == "merge_request_event"`},
		".cac-publish":      {call: "cac publish", rule: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"},
		".cac-config-merge": {call: "cac config merge --from-merge-request", rule: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"},
		".cac-config-check": {call: "cac config check --post gitlab", rule: `$CI_PIPELINE_SOURCE == "merge_request_event"`},
	}
	for name, w := range want {
		j, ok := jobs[name]
		if !ok {
			t.Errorf("no hidden job %s", name)
			continue
		}
		if !strings.Contains(strings.Join(j.Script, "\n"), w.call) {
			t.Errorf("%s does not run %q", name, w.call)
		}
		if w.rule != "" && (len(j.Rules) == 0 || j.Rules[0]["if"] != w.rule) {
			t.Errorf("%s rules %v, want if: %s", name, j.Rules, w.rule)
		}
		if j.Artifacts.Reports["codequality"] != w.codequality {
			t.Errorf("%s codequality report %q, want %q", name, j.Artifacts.Reports["codequality"], w.codequality)
		}
	}
	for _, name := range []string{".cac-build", ".cac-build-fleet"} {
		if !slices.Contains(jobs[name].Artifacts.Paths, "output/cac/") {
			t.Errorf("%s artifacts %v lack output/cac/", name, jobs[name].Artifacts.Paths)
		}
	}
	if jobs[".cac-build-fleet"].Parallel < 2 {
		t.Errorf(".cac-build-fleet parallel: %d, want N > 1 runners (CI_NODE_INDEX/CI_NODE_TOTAL)", jobs[".cac-build-fleet"].Parallel)
	}
	checkUses(t, uses)
}

// TestActionScript runs the action's run step with a stand-in cac that prints its arguments:
// the arguments it builds, its outputs, and its exit code.
func TestActionScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	a, _ := readAction(t, "action.yml")
	var script string
	for _, s := range a.Runs.Steps {
		if s.ID == "run" {
			script = s.Run
		}
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "cac")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\nexit ${FAKE_EXIT:-0}\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, command, configRepo, usn, args, exit string
		wantArgs, wantOutputs                      string
		wantCode                                   int
	}{
		{"build", "build", "https://git.example.com/c.git", "user", "--regions sg,us  --out=dist", "0",
			"[build][--config-repo][https://git.example.com/c.git][--usn][user][--format][github][--regions][sg,us][--out=dist]",
			"exit-code=0\nreport=dist/cac-report.json\n", 0},
		{"build of a usn", "build", "", "user", "", "0", "[build][--usn][user][--format][github]",
			"exit-code=0\nreport=output/cac/user/cac-report.json\n", 0},
		{"validate with findings", "validate", "", "", "", "1", "[validate][--format][github]", "exit-code=1\n", 1},
		{"diff", "diff", "../cfg", "", "--post github", "0", "[diff][--config-repo][../cfg][--post][github]", "exit-code=0\n", 0},
		{"scan sarif", "scan", "", "", "--baseline b.json", "1", "", "sarif=cac-scan.sarif\nexit-code=1\n", 1},
		{"config merge", "config", "../cfg", "", "merge feature-x --code-commit=abc --delete-branch", "0",
			"[config][--config-repo][../cfg][merge][feature-x][--code-commit=abc][--delete-branch]", "exit-code=0\n", 0},
		{"unknown command", "rm", "", "", "", "0", "", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "output")
			format := "github"
			if tt.command == "scan" {
				format = "sarif"
			}
			work := t.TempDir()
			cmd := exec.Command("bash", "-e", "-c", script)
			cmd.Dir = work
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CAC=" + fake, "GITHUB_OUTPUT=" + out, "FAKE_EXIT=" + tt.exit,
				"INPUT_COMMAND=" + tt.command, "INPUT_CONFIG_REPO=" + tt.configRepo, "INPUT_USN=" + tt.usn,
				"INPUT_ARGS=" + tt.args, "INPUT_FORMAT=" + format, "GITHUB_TOKEN=ghs_secret"}
			stdout, _ := cmd.Output()
			code := cmd.ProcessState.ExitCode()
			outputs, _ := os.ReadFile(out)
			got := strings.ReplaceAll(string(stdout), "\n", "")
			if tt.command == "rm" {
				got = ""
			}
			if got != tt.wantArgs || string(outputs) != tt.wantOutputs || code != tt.wantCode {
				t.Errorf("args %s, outputs %q, exit %d; want %s, %q, %d", got, outputs, code, tt.wantArgs, tt.wantOutputs, tt.wantCode)
			}
			if strings.Contains(string(stdout), "ghs_secret") {
				t.Error("the token is on the command line")
			}
			if tt.command == "scan" {
				sarif, _ := os.ReadFile(filepath.Join(work, "cac-scan.sarif"))
				if got, want := strings.ReplaceAll(string(sarif), "\n", ""), "[scan][--format][sarif][--baseline][b.json]"; got != want {
					t.Errorf("cac-scan.sarif holds %s, want cac's stdout %s", got, want)
				}
			}
		})
	}
}

// TestGitLabReportScripts runs the scripts of the jobs that leave a code-quality report with a
// stand-in cac: a run with findings leaves its report and exits 1; a clean run (no output) still
// leaves a valid empty report. The scan job passes the baseline only when the file exists.
func TestGitLabReportScripts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(rootDir, "templates", "gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]gitlabJob
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		job, exit, print, baseline, want, args string
		code                                   int
	}{
		{".cac-build", "1", `[{"description":"x"}]`, "", `[{"description":"x"}]`, "build --format gitlab", 1},
		{".cac-build", "0", "", "", "[]\n", "build --format gitlab", 0},
		{".cac-scan", "1", `[{"description":"x"}]`, "", `[{"description":"x"}]`, "scan --format gitlab", 1},
		{".cac-scan", "0", "", ".cac-scan-baseline.json", "[]\n", "scan --format gitlab --baseline .cac-scan-baseline.json", 0},
	} {
		script := strings.Join(doc[tt.job].Script, "\n")
		dir := t.TempDir()
		fake := "#!/bin/sh\necho \"$*\" > args\nprintf '%s' '" + tt.print + "'\nexit " + tt.exit + "\n"
		if err := os.WriteFile(filepath.Join(dir, "cac"), []byte(fake), 0o755); err != nil {
			t.Fatal(err)
		}
		if tt.baseline != "" {
			if err := os.WriteFile(filepath.Join(dir, tt.baseline), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("sh", "-e", "-c", script)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
		cmd.Run()
		got, _ := os.ReadFile(filepath.Join(dir, "gl-code-quality-report.json"))
		args, _ := os.ReadFile(filepath.Join(dir, "args"))
		if string(got) != tt.want || cmd.ProcessState.ExitCode() != tt.code || strings.TrimSpace(string(args)) != tt.args {
			t.Errorf("%s, cac exit %s: report %q, exit %d, args %q; want %q, %d, %q", tt.job, tt.exit, got, cmd.ProcessState.ExitCode(),
				strings.TrimSpace(string(args)), tt.want, tt.code, tt.args)
		}
	}
}

// TestConfigRepoTemplates checks templates/config-repo/: the GitHub workflow and the GitLab CI file
// of a config repo name real commands, flags and CAC_* variables, publish a push since its
// previous tip and comment a merge request's rendered diff per affected service.
func TestConfigRepoTemplates(t *testing.T) {
	read := func(name string, v any) {
		data, err := os.ReadFile(filepath.Join(rootDir, "templates", "config-repo", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var uses []use
	calls := func(where string, lines ...string) string {
		var all []string
		for _, line := range lines {
			for _, m := range cacCall.FindAllStringSubmatch(line, -1) {
				all = append(all, "cac "+m[1]+m[2])
				for _, f := range flagToken.FindAllStringSubmatch(m[2], -1) {
					uses = append(uses, use{where, m[1], f[1]})
				}
				uses = append(uses, use{where, m[1], ""})
			}
		}
		return strings.Join(all, "\n")
	}
	vars := func(where string, env map[string]string) {
		for v := range env {
			if strings.HasPrefix(v, "CAC_") && v != "CAC_VERSION" && !strings.HasSuffix(v, "_TOKEN") {
				uses = append(uses, use{where, "publish", v})
			}
		}
	}

	var gh struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			If    string       `yaml:"if"`
			Steps []actionStep `yaml:"steps"`
		} `yaml:"jobs"`
	}
	read("github-workflow.yml", &gh)
	vars("github-workflow.yml env", gh.Env)
	for _, tc := range []struct{ job, cond, call, envVar, envValue string }{
		{"publish", "github.event_name == 'push'", `cac publish --affected-since "$BEFORE"`, "BEFORE", "${{ github.event.before }}"},
		{"review", "github.event_name == 'pull_request'", `cac diff --affected --post github`, "GITHUB_TOKEN", "${{ secrets.GITHUB_TOKEN }}"},
	} {
		j, ok := gh.Jobs[tc.job]
		if !ok || j.If != tc.cond {
			t.Errorf("github-workflow.yml: job %s %+v, want if: %s", tc.job, j, tc.cond)
			continue
		}
		found := false
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "${{") {
				t.Errorf("github-workflow.yml: job %s puts an expression into its script; pass it through env", tc.job)
			}
			if strings.Contains(calls("github-workflow.yml "+tc.job, s.Run), tc.call) && s.Env[tc.envVar] == tc.envValue {
				found = true
			}
		}
		if !found {
			t.Errorf("github-workflow.yml: job %s does not run %s with %s: %s", tc.job, tc.call, tc.envVar, tc.envValue)
		}
	}

	var gl map[string]yaml.Node
	read("gitlab-ci.yml", &gl)
	jobs := map[string]gitlabJob{}
	for name, node := range gl {
		if name == "variables" {
			var v map[string]string
			if err := node.Decode(&v); err != nil {
				t.Fatal(err)
			}
			vars("gitlab-ci.yml variables", v)
			continue
		}
		var j gitlabJob
		if err := node.Decode(&j); err != nil {
			t.Fatalf("gitlab-ci.yml %s: %v", name, err)
		}
		jobs[name] = j
	}
	for _, tc := range []struct{ job, rule, call string }{
		{"cac-config-publish", "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", `cac publish --affected-since "$CI_COMMIT_BEFORE_SHA"`},
		{"cac-config-review", `$CI_PIPELINE_SOURCE == "merge_request_event"`, `cac diff --affected --post gitlab`},
	} {
		j, ok := jobs[tc.job]
		if !ok {
			t.Errorf("gitlab-ci.yml: no job %s", tc.job)
			continue
		}
		if ext, _ := j.Extends.(string); jobs[ext].Before == nil {
			t.Errorf("gitlab-ci.yml: %s extends %q, which installs nothing", tc.job, ext)
		}
		if len(j.Rules) == 0 || !strings.HasPrefix(fmt.Sprint(j.Rules[0]["if"]), tc.rule) {
			t.Errorf("gitlab-ci.yml: %s rules %v, want if: %s", tc.job, j.Rules, tc.rule)
		}
		if !strings.Contains(calls("gitlab-ci.yml "+tc.job, j.Script...), tc.call) {
			t.Errorf("gitlab-ci.yml: %s does not run %s", tc.job, tc.call)
		}
	}
	checkUses(t, uses)
}

// TestWrappersRealValidator runs the real schema validator of GitHub Actions metadata and workflows
// (npm @action-validator/cli, which .ci/run installs) over every action.yml and the config repo's
// workflow, and checks that it does reject a broken action. Without the validator the test is
// skipped on a developer machine and fails in CI.
func TestWrappersRealValidator(t *testing.T) {
	bin, err := exec.LookPath("action-validator")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("action-validator is not on PATH: .ci/run installs it (npm @action-validator/cli)")
		}
		t.Skip("action-validator is not on PATH (npm install -g @action-validator/cli@0.6.0)")
	}
	files, err := filepath.Glob(filepath.Join(rootDir, "actions", "*", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(rootDir, "action.yml"), filepath.Join(rootDir, "templates", "config-repo", "github-workflow.yml"))
	for _, f := range files {
		if out, err := exec.Command(bin, f).CombinedOutput(); err != nil {
			t.Errorf("action-validator %s: %v\n%s", f, err, out)
		}
	}
	broken := filepath.Join(t.TempDir(), "action.yml")
	if err := os.WriteFile(broken, []byte("name: x\ndescription: y\nruns:\n  using: composite\n  stepz: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(bin, broken).Run(); err == nil {
		t.Error("action-validator accepted an action whose runs has no steps")
	}
}
