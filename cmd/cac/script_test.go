package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
)

var update = flag.Bool("update", false, "rewrite cmp files in testdata/script from actual output")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cac": func() { os.Exit(Main(os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})) },
	})
}

// TestScripts runs testdata/script/*.txtar: end-to-end CLI scenarios whose stdout and stderr are
// part of the contract. UPDATE_SCRIPTS=1 (or -update) rewrites expected output.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(filepath.Join("..", "..", "testdata", "script")))
}

// TestBadInput runs testdata/bad/*.txtar: one broken or hostile input per file, each run through
// cac build (and validate), asserting a clear message with file:line, the exit code, and that
// nothing was written.
func TestBadInput(t *testing.T) {
	testscript.Run(t, scriptParams(filepath.Join("..", "..", "testdata", "bad")))
}

func scriptParams(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		UpdateScripts:       *update || os.Getenv("UPDATE_SCRIPTS") == "1",
		Setup: func(e *testscript.Env) error {
			e.Setenv("HOME", e.WorkDir)
			templates, err := filepath.Abs(filepath.Join("..", "..", "templates"))
			if err != nil {
				return err
			}
			e.Setenv("TEMPLATES", templates)
			examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
			if err != nil {
				return err
			}
			e.Setenv("EXAMPLES", examples)
			// Scripts about rendering use a standard that accepts any key; scripts about validation
			// unset CAC_STANDARD (the built-in standard) or pass --standard.
			anyStd := filepath.Join(e.WorkDir, ".any-standard.yaml")
			if err := os.WriteFile(anyStd, []byte("$any: true\n"), 0o644); err != nil {
				return err
			}
			e.Setenv("CAC_STANDARD", anyStd)
			e.Values[serverKey{}] = &serverHolder{}
			e.Values[forgeKey{}] = &forgeHolder{}
			e.Values[gitlabKey{}] = &gitlabHolder{}
			e.Setenv("NO_COLOR", "1")
			e.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			e.Setenv("GIT_AUTHOR_NAME", "cac test")
			e.Setenv("GIT_AUTHOR_EMAIL", "test@example.com")
			e.Setenv("GIT_COMMITTER_NAME", "cac test")
			e.Setenv("GIT_COMMITTER_EMAIL", "test@example.com")
			// CI variables of the machine running the tests must not leak into scripts.
			for _, v := range []string{"GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
				"CI_COMMIT_REF_NAME", "GITHUB_TOKEN", "GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "GITHUB_EVENT_PATH",
				"GITHUB_REPOSITORY", "GITHUB_API_URL", "GITLAB_TOKEN", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID", "CI_API_V4_URL", "CI_JOB_TOKEN", "CAC_GIT_TOKEN", "GITHUB_ACTIONS", "GITLAB_CI"} {
				e.Setenv(v, "")
			}
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"configrepo": cmdConfigRepo,
			"gitserver":  cmdGitServer,
			"gitfault":   cmdGitFault,
			"fakegithub": cmdFakeGitHub,
			"fakegitlab": cmdFakeGitLab,
			"genfile":    cmdGenFile,
		},
	}
}

// genfile FILE KIND ARG: write an input that cannot or should not be committed as text. KIND
// "lines" writes ARG MiB of template lines with a placeholder; "aliases" writes a YAML file whose
// aliases expand to more than ARG million values; "quoted" writes the Go-quoted string ARG (for
// invalid UTF-8, BOMs and CRLF).
func cmdGenFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: genfile FILE lines|aliases|quoted ARG")
	}
	var b strings.Builder
	n, _ := strconv.Atoi(args[2])
	switch args[1] {
	case "quoted":
		s, err := strconv.Unquote(args[2])
		ts.Check(err)
		b.WriteString(s)
	case "lines":
		line := "key = ^cac<<a>> and some text to fill the line up\n"
		for b.Len() < n<<20+1 {
			b.WriteString(line)
		}
	case "aliases":
		// level i is a list of 10 aliases to level i-1: 10^levels leaves
		b.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
		levels := 1
		for leaves := 10; leaves < n*1000000; leaves *= 10 {
			fmt.Fprintf(&b, "l%d: &l%d [", levels, levels)
			for j := 0; j < 10; j++ {
				fmt.Fprintf(&b, "*l%d, ", levels-1)
			}
			b.WriteString("x]\n")
			levels++
		}
	default:
		ts.Fatalf("genfile: unknown kind %q", args[1])
	}
	ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[0])), 0o755))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o644))
}

// configrepo NAME DEFAULT DIR: make the bare repository $WORK/git/NAME.git from DIR, whose
// subdirectories are branches (DIR/main/user/sg.yaml → file user/sg.yaml on branch main);
// DEFAULT is the default branch.
func cmdConfigRepo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: configrepo NAME DEFAULT DIR")
	}
	src := ts.MkAbs(args[2])
	branches := map[string]map[string]string{}
	entries, err := os.ReadDir(src)
	ts.Check(err)
	for _, b := range entries {
		files := map[string]string{}
		root := filepath.Join(src, b.Name())
		ts.Check(filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			files[filepath.ToSlash(rel)] = string(data)
			return err
		}))
		branches[b.Name()] = files
	}
	_, err = gitfixture.BareE(ts.MkAbs("git"), args[0], branches, args[1])
	ts.Check(err)
}

// serverKey finds, through ts.Value, the script's holder of its running git server.
type serverKey struct{}

type serverHolder struct{ s *gitserver.Server }

// gitserver [TOKEN]: serve $WORK/git over smart HTTP (git http-backend) on loopback and set
// GITURL to its base URL and GITHOST to its host:port. With TOKEN, requests need it as the basic-auth password.
func cmdGitServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: gitserver [TOKEN]")
	}
	opts := gitserver.Options{}
	if len(args) == 1 {
		opts.Token = args[0]
	}
	s, err := gitserver.Start(ts.MkAbs("git"), opts)
	ts.Check(err)
	ts.Value(serverKey{}).(*serverHolder).s = s
	ts.Defer(s.Close)
	ts.Setenv("GITURL", s.URL)
	ts.Setenv("GITHOST", strings.TrimPrefix(s.URL, "http://"))
}

// gitfault N [STATUS | delay DURATION | cut BYTES | truncate BYTES]: the next N requests to the git
// server fail with STATUS (default 500), are answered only after DURATION, are cut off after BYTES
// of response, or get a complete answer holding only the first BYTES of the body.
func cmdGitFault(ts *testscript.TestScript, neg bool, args []string) {
	s := ts.Value(serverKey{}).(*serverHolder).s
	if neg || s == nil || len(args) < 1 || len(args) > 3 {
		ts.Fatalf("usage: gitfault N [STATUS | delay DURATION | cut BYTES | truncate BYTES] (after gitserver)")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	f := gitserver.Fault{Status: 500}
	switch {
	case len(args) == 2:
		f.Status, err = strconv.Atoi(args[1])
	case len(args) == 3 && args[1] == "delay":
		f = gitserver.Fault{}
		f.Delay, err = time.ParseDuration(args[2])
	case len(args) == 3 && args[1] == "cut":
		f = gitserver.Fault{}
		f.CutAfter, err = strconv.Atoi(args[2])
	case len(args) == 3 && args[1] == "truncate":
		f = gitserver.Fault{}
		f.Truncate, err = strconv.Atoi(args[2])
	case len(args) == 3:
		ts.Fatalf("usage: gitfault N [STATUS | delay DURATION | cut BYTES | truncate BYTES]")
	}
	ts.Check(err)
	for i := 0; i < n; i++ {
		s.Inject(f)
	}
}
