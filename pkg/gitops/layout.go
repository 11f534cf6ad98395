package gitops

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/sops"
	"github.com/cacproj/cac/pkg/yamlnode"
)

// Files generated at the root of envs/<region>/<usn>/. Manifests keep their path under the manifests
// dir (deploy/...), so they never collide with these.
const (
	fileKustomization = "kustomization.yaml"
	fileConfigMap     = "cac-config.yaml"
	fileSecret        = "cac-secret.enc.yaml"
	fileKSOPS         = "cac-ksops.yaml"
)

// maxObjectData is the Kubernetes limit on the data of one ConfigMap or Secret (1 MiB).
const maxObjectData = 1 << 20

// fingerprintAnnotation holds, when CAC_PUBLISH_KEY is set, HMAC-SHA256 keyed with
// HKDF(CAC_PUBLISH_KEY, fingerprintInfo) over the Secret's name, its age recipients and its sorted
// data, so a publish whose secret content did not change keeps the old ciphertext (SOPS encryption
// is randomised) and stays "up to date". No push token is involved: CI tokens change every job.
// See README, "How publish decides nothing changed".
const fingerprintAnnotation = "cac/fingerprint"

// fingerprintInfo separates the fingerprint key from any other use of CAC_PUBLISH_KEY.
const fingerprintInfo = "cac publish fingerprint v1"

// EnvPublishKey names the CI secret variable holding the stable publish key.
const EnvPublishKey = "CAC_PUBLISH_KEY"

// minPublishKey is the shortest CAC_PUBLISH_KEY accepted: a guessable key would make the
// fingerprint a way to test guesses of the secrets.
const minPublishKey = 32

var configKeyRe = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// configKey maps a rendered file path to its ConfigMap/Secret key: "/" becomes "__"
// (conf/app.toml → conf__app.toml). Mount it back with items: [{key: conf__app.toml, path: conf/app.toml}].
func configKey(rel string) string { return strings.ReplaceAll(rel, "/", "__") }

// regionPlan is what one region of the service publishes, before the secret is encrypted.
type regionPlan struct {
	region string
	files  map[string][]byte // path under envs/<region>/<usn>/ → content (manifests, ConfigMap, kustomization)
	secret *secretPlan       // config files that carry secret values, nil if none
}

type secretPlan struct {
	usn   string
	files []string          // rendered paths, for messages
	data  map[string][]byte // key → content
}

// outputName names a build output in messages: its directory, when it was read from or written to one.
func outputName(o *pipeline.Output) string {
	if o.Dir == "" {
		return "the rendered output"
	}
	return filepath.ToSlash(o.Dir)
}

// planRegion sorts the region's rendered files into manifests, the ConfigMap and the Secret.
func planRegion(tree pipeline.Tree, region, usn, manifestsDir string, secrets []SecretValue) (*regionPlan, error) {
	p := &regionPlan{region: region, files: map[string][]byte{}}
	config := map[string][]byte{}
	secret := map[string][]byte{}
	keyOf := map[string]string{}
	var secretFiles, manifests []string
	hasKustomization := false
	for _, rel := range tree.Paths(region) {
		f, _ := tree.File(region, rel)
		data := f.Data
		secretPath := containsSecret(data, secrets)
		if strings.HasPrefix(rel, manifestsDir+"/") {
			if secretPath != "" {
				return nil, cacerr.Usage("region %s: manifest %s contains the secret value of %s; manifests are committed as-is, so reference the Secret %s-secret (or an env var from it) instead of the value", region, rel, secretPath, usn)
			}
			if ext := path.Ext(rel); ext == ".yaml" || ext == ".yml" {
				var err error
				if data, err = labelBasePods(data); err != nil {
					return nil, cacerr.Usage("region %s: manifest %s: %w", region, rel, err)
				}
			}
			p.files[rel] = data
			switch path.Base(rel) {
			case "kustomization.yaml", "kustomization.yml", "Kustomization":
				if path.Dir(rel) == manifestsDir {
					hasKustomization = true
				}
			}
			if ext := path.Ext(rel); ext == ".yaml" || ext == ".yml" || ext == ".json" {
				manifests = append(manifests, rel)
			}
			continue
		}
		key := configKey(rel)
		if len(key) > 253 || !configKeyRe.MatchString(key) {
			return nil, cacerr.Usage("region %s: config file %s cannot be a ConfigMap key (%q): keys may only use letters, digits, '-', '_' and '.', at most 253 characters; rename the template", region, rel, key)
		}
		if other, dup := keyOf[key]; dup {
			return nil, cacerr.Usage("region %s: config files %s and %s both map to ConfigMap key %q; rename one", region, other, rel, key)
		}
		keyOf[key] = rel
		if secretPath != "" {
			secret[key] = data
			secretFiles = append(secretFiles, rel)
		} else {
			config[key] = data
		}
	}
	var resources []string
	if hasKustomization {
		resources = append(resources, manifestsDir)
	} else {
		sort.Strings(manifests)
		resources = append(resources, manifests...)
	}
	if len(config) > 0 {
		if err := checkSize(config, region, usn+"-config", "ConfigMap"); err != nil {
			return nil, err
		}
		doc, err := dataObject("ConfigMap", usn+"-config", nil, config)
		if err != nil {
			return nil, err
		}
		p.files[fileConfigMap] = doc
		resources = append(resources, fileConfigMap)
	}
	kust := map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
	if len(secret) > 0 {
		if err := checkSize(secret, region, usn+"-secret", "Secret"); err != nil {
			return nil, err
		}
		sort.Strings(secretFiles)
		p.secret = &secretPlan{usn: usn, files: secretFiles, data: secret}
		kust["generators"] = []string{fileKSOPS}
		ksops, err := yamlnode.FromJSON(map[string]any{
			"apiVersion": "viaduct.ai/v1",
			"kind":       "ksops",
			"metadata": map[string]any{
				"name":        usn + "-secret-generator",
				"annotations": map[string]string{"config.kubernetes.io/function": "exec:\n  path: ksops\n"},
			},
			"files": []string{"./" + fileSecret},
		})
		if err != nil {
			return nil, err
		}
		p.files[fileKSOPS] = ksops
	}
	k, err := yamlnode.FromJSON(kust)
	if err != nil {
		return nil, err
	}
	p.files[fileKustomization] = k
	return p, nil
}

// containsSecret returns the value path of the first secret whose value occurs in data, or "".
func containsSecret(data []byte, secrets []SecretValue) string {
	for _, s := range secrets {
		if s.Value != "" && bytes.Contains(data, []byte(s.Value)) {
			return s.Path
		}
	}
	return ""
}

func checkSize(data map[string][]byte, region, name, kind string) error {
	total := 0
	type kv struct {
		k string
		n int
	}
	var sizes []kv
	for k, v := range data {
		total += len(k) + len(v)
		sizes = append(sizes, kv{k, len(v)})
	}
	if total <= maxObjectData {
		return nil
	}
	sort.Slice(sizes, func(i, j int) bool {
		return sizes[i].n > sizes[j].n || sizes[i].n == sizes[j].n && sizes[i].k < sizes[j].k
	})
	var big []string
	for i := 0; i < len(sizes) && i < 3; i++ {
		big = append(big, fmt.Sprintf("%s (%d bytes)", sizes[i].k, sizes[i].n))
	}
	return cacerr.Usage("region %s: %s %s would hold %d bytes, over Kubernetes' limit of %d (1 MiB); largest: %s; move large files into the image or split them",
		region, kind, name, total, maxObjectData, strings.Join(big, ", "))
}

// dataObject builds a ConfigMap (data/binaryData) or Secret (stringData/data) as a YAML node tree.
func dataObject(kind, name string, annotations map[string]string, files map[string][]byte) ([]byte, error) {
	n, err := dataObjectNode(kind, name, annotations, files)
	if err != nil {
		return nil, err
	}
	return yamlnode.Marshal(n)
}

func dataObjectNode(kind, name string, annotations map[string]string, files map[string][]byte) (*yaml.Node, error) {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	text, bin := yamlnode.OrderedMap(), yamlnode.OrderedMap()
	for _, k := range keys {
		v := files[k]
		if utf8.Valid(v) {
			text.Content = append(text.Content, yamlnode.Str(k), yamlnode.Str(string(v)))
		} else {
			bin.Content = append(bin.Content, yamlnode.Str(k), yamlnode.Str(base64.StdEncoding.EncodeToString(v)))
		}
	}
	meta := yamlnode.OrderedMap("name", name)
	if len(annotations) > 0 {
		a := yamlnode.OrderedMap()
		for _, k := range sortedKeys(annotations) {
			a.Content = append(a.Content, yamlnode.Str(k), yamlnode.Str(annotations[k]))
		}
		meta.Content = append(meta.Content, yamlnode.Str("annotations"), a)
	}
	meta.Content = append(meta.Content, yamlnode.Str("labels"), yamlnode.OrderedMap("app.kubernetes.io/managed-by", "cac"))
	doc := yamlnode.OrderedMap("apiVersion", "v1", "kind", kind, "metadata", meta)
	textKey, binKey := "data", "binaryData"
	if kind == "Secret" {
		doc.Content = append(doc.Content, yamlnode.Str("type"), yamlnode.Str("Opaque"))
		textKey, binKey = "stringData", "data"
	}
	if len(text.Content) > 0 {
		doc.Content = append(doc.Content, yamlnode.Str(textKey), text)
	}
	if len(bin.Content) > 0 {
		doc.Content = append(doc.Content, yamlnode.Str(binKey), bin)
	}
	return doc, nil
}

// secretComparer tells whether a committed Secret still holds what a publish would write.
type secretComparer struct {
	ids   *sops.Keys // age identities of the job (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, sops' keys.txt)
	fpKey []byte     // HKDF(CAC_PUBLISH_KEY); nil when unset
}

func newSecretComparer(getenv func(string) string) (*secretComparer, error) {
	c := &secretComparer{}
	ids, err := sops.KeysFromEnv(getenv)
	if err != nil {
		return nil, cacerr.Usage("age identities: %w", err)
	}
	c.ids = ids
	if k := getenv(EnvPublishKey); k != "" {
		if len(k) < minPublishKey {
			return nil, cacerr.Usage("%s has %d characters; use at least %d random ones (e.g. openssl rand -base64 32), or unset it", EnvPublishKey, len(k), minPublishKey)
		}
		if c.fpKey, err = hkdf.Key(sha256.New, []byte(k), nil, fingerprintInfo, sha256.Size); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// canCompare reports whether c can tell an unchanged Secret without decrypting (the publish key)
// or might by decrypting (an age identity).
func (c *secretComparer) canCompare() bool { return c.fpKey != nil || !c.ids.Empty() }

// fingerprint is HMAC-SHA256 keyed with c.fpKey over the Secret's name, recipients (sorted) and
// data (sorted by key), each length-prefixed; "" without a publish key.
func (c *secretComparer) fingerprint(s *secretPlan, recipients []string) string {
	if c.fpKey == nil {
		return ""
	}
	mac := hmac.New(sha256.New, c.fpKey)
	field := func(b []byte) { fmt.Fprintf(mac, "%d:", len(b)); mac.Write(b) }
	field([]byte(s.usn + "-secret"))
	recips := slices.Sorted(slices.Values(recipients))
	fmt.Fprintf(mac, "%d;", len(recips))
	for _, r := range recips {
		field([]byte(r))
	}
	fmt.Fprintf(mac, "%d;", len(s.data))
	for _, k := range sortedKeys(s.data) {
		field([]byte(k))
		field(s.data[k])
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// secretFile returns the SOPS-encrypted Secret of s for recipients, or old, the committed file,
// unchanged when it holds the same content: (a) decrypted with an identity of the job, its
// plaintext equals the new one; else (b) its fingerprint annotation equals the new fingerprint.
// blind reports a re-encryption without any way to tell whether the content changed (no identity
// decrypts old, no publish key): such a publish commits new ciphertext every time.
func (s *secretPlan) secretFile(recipients []string, c *secretComparer, old []byte) (enc []byte, blind bool, err error) {
	fp := c.fingerprint(s, recipients)
	var ann map[string]string
	if fp != "" {
		ann = map[string]string{fingerprintAnnotation: fp}
	}
	blind = !c.canCompare()
	if old != nil {
		same, ok := s.samePlaintext(old, recipients, ann, c.ids)
		switch {
		case ok && same:
			return old, false, nil
		case !ok && fp != "" && oldFingerprint(old) == fp:
			return old, false, nil
		}
		blind = !ok && fp == ""
	}
	doc, err := dataObjectNode("Secret", s.usn+"-secret", ann, s.data)
	if err != nil {
		return nil, false, err
	}
	enc, err = sops.EncryptSecret(doc, recipients, time.Now())
	return enc, blind, err
}

// samePlaintext decrypts old in memory with ids and reports whether it is the Secret s would
// write, for the same recipients and with the same annotations; ok is false when ids cannot
// decrypt it. The plaintext never leaves this function.
func (s *secretPlan) samePlaintext(old []byte, recipients []string, ann map[string]string, ids *sops.Keys) (same, ok bool) {
	if ids.Empty() {
		return false, false
	}
	dec, err := sops.Decrypt(fileSecret, old, ids)
	if err != nil || !dec.SOPS || len(dec.Findings) > 0 {
		return false, false
	}
	var obj struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name        string            `yaml:"name"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		StringData map[string]string `yaml:"stringData"`
		Data       map[string]string `yaml:"data"`
		SOPS       struct {
			Age []struct {
				Recipient string `yaml:"recipient"`
			} `yaml:"age"`
		} `yaml:"sops"`
	}
	if yaml.Unmarshal(dec.Data, &obj) != nil {
		return false, true
	}
	var oldRecips []string
	for _, a := range obj.SOPS.Age {
		oldRecips = append(oldRecips, a.Recipient)
	}
	if obj.Kind != "Secret" || obj.Metadata.Name != s.usn+"-secret" || len(obj.Metadata.Annotations) != len(ann) ||
		!slices.Equal(slices.Sorted(slices.Values(oldRecips)), slices.Sorted(slices.Values(recipients))) ||
		len(obj.StringData)+len(obj.Data) != len(s.data) {
		return false, true
	}
	for k, v := range ann {
		if obj.Metadata.Annotations[k] != v {
			return false, true
		}
	}
	for k, v := range s.data {
		if t, ok := obj.StringData[k]; ok {
			if t != string(v) {
				return false, true
			}
			continue
		}
		b, err := base64.StdEncoding.DecodeString(obj.Data[k])
		if _, ok := obj.Data[k]; !ok || err != nil || !bytes.Equal(b, v) {
			return false, true
		}
	}
	return true, true
}

func oldFingerprint(old []byte) string {
	var obj struct {
		Metadata struct {
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
	}
	if yaml.Unmarshal(old, &obj) != nil {
		return ""
	}
	return obj.Metadata.Annotations[fingerprintAnnotation]
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
