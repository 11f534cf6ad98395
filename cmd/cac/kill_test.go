package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cacBinary returns a path that runs cac as a separate process: a link named "cac" to this test
// binary, which TestMain (testscript.Main) runs as Main.
func cacBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cac")
	if err := os.Symlink(self, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// killFixture writes a code repo with many templates and a plain-directory config repo with many
// regions, so that rendering and writing take long enough to be interrupted.
func killFixture(t *testing.T, templates, regions int) (code, config string) {
	t.Helper()
	root := t.TempDir()
	code, config = filepath.Join(root, "code"), filepath.Join(root, "config")
	body := strings.Repeat("# filler line that stays as it is in every region\n", 40)
	for i := 0; i < templates; i++ {
		p := filepath.Join(code, "conf", fmt.Sprintf("d%02d", i%16), fmt.Sprintf("CacRegion_app%03d.ini", i))
		writeTestFile(t, p, fmt.Sprintf("%shost=^cac<<db.ip>>\nport=^cac<<db.port>>\nn=^cac<<n>>\n", body))
	}
	for r := 0; r < regions; r++ {
		writeTestFile(t, filepath.Join(config, fmt.Sprintf("r%02d.yaml", r)), fmt.Sprintf("n: 1\ndb:\n  ip: 10.0.0.%d\n  port: 3306\n", r))
	}
	writeTestFile(t, filepath.Join(root, "any.yaml"), "$any: true\n")
	return code, config
}

func writeTestFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildCmd is `cac build` in code against config, as a child process.
func buildCmd(bin, code, config string) *exec.Cmd {
	cmd := exec.Command(bin, "-C", code, "build", "--config-repo", config, "--branch", "main",
		"--standard", filepath.Join(filepath.Dir(code), "any.yaml"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Dir(code), "NO_COLOR=1"}
	return cmd
}

// snapshot describes a complete output dir: one checksum over its files' names and checksums.
// It fails the test when the dir is not complete: a file missing from or not listed in the report,
// or a checksum that differs.
func snapshot(t *testing.T, out string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "cac-report.json"))
	if err != nil {
		t.Fatalf("output without a report: %v", err)
	}
	var rep struct {
		Files []struct{ Region, Path, SHA256 string }
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	want := map[string]string{}
	for _, f := range rep.Files {
		want[f.Region+"/"+f.Path] = f.SHA256
	}
	var got []string
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		if rel == "cac-report.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		if want[rel] != hex.EncodeToString(sum[:]) {
			return fmt.Errorf("%s: not in the report or a different checksum: a partial output", rel)
		}
		got = append(got, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("output has %d files, its report lists %d: a partial output", len(got), len(want))
	}
	// the identity of an output is its files (the report also holds timings, which differ)
	h := sha256.New()
	slices.Sort(got)
	for _, f := range got {
		fmt.Fprintf(h, "%s %s\n", f, want[f])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestKilledBuildLeavesCompleteOutput kills `cac build` with SIGKILL at several moments of a
// build that takes a while (render and write of 200 templates × 16 regions) and checks that the
// output is then always a complete one: the previous build's, or (when the kill came after the
// swap) the new one, never a mix; and that the next build removes the leftovers and succeeds.
func TestKilledBuildLeavesCompleteOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds thousands of files")
	}
	bin := cacBinary(t)
	code, config := killFixture(t, 200, 16)
	out := filepath.Join(code, "output", "cac")
	parent := filepath.Dir(out)

	// no previous output: a kill leaves nothing or a complete output
	cmd := buildCmd(bin, code, config)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitTemp(parent, nil, 30*time.Second)
	kill(t, cmd)
	if _, err := os.Stat(out); err == nil {
		snapshot(t, out)
	}

	run := func() string {
		t.Helper()
		b, err := buildCmd(bin, code, config).CombinedOutput()
		if err != nil {
			t.Fatalf("build: %v\n%s", err, b)
		}
		if left := temps(parent); len(left) > 0 {
			t.Fatalf("a successful build left %v", left)
		}
		return snapshot(t, out)
	}
	previous := run()

	// From now on every build would render other values: n changes in every region.
	for r := 0; r < 16; r++ {
		writeTestFile(t, filepath.Join(config, fmt.Sprintf("r%02d.yaml", r)), fmt.Sprintf("n: 2\ndb:\n  ip: 10.0.0.%d\n  port: 3306\n", r))
	}
	first, next := previous, ""
	// isNext says whether a complete output other than the first is the new build's (the first
	// one seen defines it: every build from now on renders the same).
	isNext := func(s string) bool {
		if next == "" {
			next = s
		}
		return s == next
	}
	points := []string{"10ms", "50ms", "100ms", "200ms", "400ms", "temp dir", "temp dir+20ms", "temp dir+100ms", "temp dir+300ms", "temp dir+1s", "report"}
	kept, replaced := 0, 0
	for _, at := range points {
		before := temps(parent)
		cmd := buildCmd(bin, code, config)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if at == "report" {
			// the last file is written: kill right before or during the swap
			waitFile(parent, before, "cac-report.json", 60*time.Second)
		} else if d, ok := strings.CutPrefix(at, "temp dir"); ok {
			waitTemp(parent, before, 30*time.Second)
			if d != "" {
				wait, _ := time.ParseDuration(strings.TrimPrefix(d, "+"))
				time.Sleep(wait)
			}
		} else {
			wait, _ := time.ParseDuration(at)
			time.Sleep(wait)
		}
		kill(t, cmd)
		got := snapshot(t, out)
		// A leftover is private (0700: being filled, or the previous tree being removed) or a
		// complete output (the new one about to be swapped in, the previous one just swapped out).
		for _, tmp := range temps(parent) {
			st, err := os.Stat(tmp)
			if err != nil || st.Mode().Perm()&0o077 == 0 {
				continue
			}
			if left := snapshot(t, tmp); left != first && !isNext(left) {
				t.Errorf("killed at %s: leftover %s (%v) is a complete output, but neither the previous nor the new one", at, tmp, st.Mode().Perm())
			}
		}
		what := "the previous output"
		switch got {
		case previous:
			kept++
		default:
			what = "the new output"
			// the kill came after the new output was swapped in: it must be the new build's
			if !isNext(got) {
				t.Fatalf("killed at %s: output is neither the previous nor the next build's", at)
			}
			replaced++
			previous = got
		}
		t.Logf("killed at %s: %s is complete; %d temp dirs left for the next build", at, what, len(temps(parent)))
	}
	t.Logf("%d kills kept the previous output, %d came after the swap", kept, replaced)
	if kept == 0 {
		t.Error("no kill interrupted a build; the fixture is too small to test anything")
	}
	final := run()
	if next != "" && final != next {
		t.Error("a build after the kills wrote other output than the killed build that completed")
	}
}

// temps lists the build temp dirs in parent.
func temps(parent string) []string {
	m, _ := filepath.Glob(filepath.Join(parent, ".cac-tmp-*"))
	return m
}

// waitFile returns once a build temp dir other than those in before holds name, or after max.
func waitFile(parent string, before []string, name string, max time.Duration) {
	for end := time.Now().Add(max); time.Now().Before(end); time.Sleep(100 * time.Microsecond) {
		for _, d := range temps(parent) {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil && !slices.Contains(before, d) {
				return
			}
		}
	}
}

// waitTemp returns once a build temp dir other than those in before exists in parent (the write
// stage has begun), or after max.
func waitTemp(parent string, before []string, max time.Duration) {
	for end := time.Now().Add(max); time.Now().Before(end); time.Sleep(time.Millisecond) {
		for _, d := range temps(parent) {
			if !slices.Contains(before, d) {
				return
			}
		}
	}
}

// kill sends SIGKILL and reaps the process.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
}
