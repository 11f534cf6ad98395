package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/obs"
	"github.com/cacproj/cac/pkg/sops"
	"github.com/cacproj/cac/pkg/values"
)

func newSecretCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Secrets at rest: SOPS-encrypted values in the config repo's region files",
	}
	cmd.AddCommand(newSecretSetCmd(e))
	return cmd
}

func newSecretSetCmd(e env) *cobra.Command {
	var configDir string
	cmd := &cobra.Command{
		Use:   "set USN/REGION PATH < value-file",
		Short: "Write a value into USN/REGION.yaml encrypted with SOPS (age), reading it from stdin",
		Long: `set writes the value read from stdin (one trailing newline removed) at the dotted PATH of
USN/REGION.yaml (or _global/REGION.yaml) in the config repo checkout (--config-dir, default: the
git checkout around the current directory), encrypted with SOPS for age. The value is never taken
from an argument, so it stays out of shell history and process lists.

An encrypted file keeps its data key and rules (the age identity must open it: SOPS_AGE_KEY,
SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt) and gets a new MAC. A plaintext file becomes a
SOPS file for the recipients of the first creation rule of .sops.yaml that matches its path (as
sops picks it); the rule's encrypted_regex (or suffixes) select the values encrypted; without any,
every value is encrypted except keys ending in _unencrypted, as the sops CLI does. Comments, key
order and other values are kept; a new key is appended (the file is then re-indented). The file is
replaced atomically; the decrypted file is never written.`,
		Example: `  cac secret set user/eu db.password < password.txt
  printf %s "$TOKEN" | cac secret set _global/eu api.token --config-dir ../config`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := secretConfigDir(configDir)
			if err != nil {
				return err
			}
			file, err := regionFile(dir, args[0])
			if err != nil {
				return err
			}
			value, err := readSecretValue(cmd.InOrStdin())
			if err != nil {
				return err
			}
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return cacerr.Usage("read %s: %w", file, err)
			}
			keys, err := sops.KeysFromEnv(e.getenv)
			if err != nil {
				return cacerr.Usage("age identity: %w", err)
			}
			opt := sops.SetOptions{Keys: keys, Now: time.Now()}
			if cfg, err := os.ReadFile(filepath.Join(dir, ".sops.yaml")); err == nil {
				if opt.Rule, err = sops.ConfigRule(cfg, file); err != nil {
					return cacerr.Usage("%w", err)
				}
			}
			out, err := sops.Set(file, data, strings.Split(args[1], "."), value, opt)
			if err != nil {
				return err
			}
			if err := writeAtomic(filepath.Join(dir, filepath.FromSlash(file)), out); err != nil {
				return cacerr.Usage("write %s: %w", file, err)
			}
			_, err = io.WriteString(e.stdout, "cac: "+args[1]+" set encrypted in "+file+"\n")
			return err
		},
	}
	cmd.Flags().StringVar(&configDir, "config-dir", "", configDirUsage+" (default: the git checkout around the current directory)")
	return cmd
}

// secretConfigDir is --config-dir, else the root of the git checkout around the current directory.
func secretConfigDir(flag string) (string, error) {
	if flag != "" {
		if st, err := os.Stat(flag); err != nil || !st.IsDir() {
			return "", cacerr.Usage("--config-dir %s: not a directory", flag)
		}
		return flag, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", cacerr.Usage("current directory: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", cacerr.Usage("%s is not in a git checkout of the config repo: run cac secret set there, or pass --config-dir DIR", wd)
		}
	}
}

// regionFile checks USN/REGION and returns the region file's path: an existing .yaml or .yml,
// else USN/REGION.yaml.
func regionFile(dir, arg string) (string, error) {
	usn, region, ok := strings.Cut(arg, "/")
	if !ok {
		return "", cacerr.Usage("%q: name the file as USN/REGION (or _global/REGION)", arg)
	}
	if usn != values.GlobalDir {
		if err := values.CheckName("service", usn); err != nil {
			return "", cacerr.Wrap(cacerr.KindUsage, err)
		}
	}
	if err := values.CheckName("region", region); err != nil {
		return "", cacerr.Wrap(cacerr.KindUsage, err)
	}
	for _, ext := range []string{".yaml", ".yml"} {
		if _, err := os.Stat(filepath.Join(dir, usn, region+ext)); err == nil {
			return path.Join(usn, region+ext), nil
		}
	}
	return path.Join(usn, region+".yaml"), nil
}

// readSecretValue reads the value from stdin, refusing a terminal (nothing would be echoed
// safely) and an empty value; one trailing newline is removed.
func readSecretValue(in io.Reader) (string, error) {
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return "", cacerr.Usage("the value is read from stdin, which is a terminal: pipe it in (cac secret set USN/REGION PATH < value-file)")
		}
	}
	b, err := io.ReadAll(in)
	if err != nil {
		return "", cacerr.Usage("read the value from stdin: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return "", cacerr.Usage("no value on stdin: pipe the value in (cac secret set USN/REGION PATH < value-file)")
	}
	return string(b), nil
}

// writeAtomic replaces file with data (obs.WriteFileAll), keeping the file's mode.
func writeAtomic(file string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(file); err == nil {
		mode = st.Mode().Perm()
	}
	return obs.WriteFileAll(file, data, mode)
}
