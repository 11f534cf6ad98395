package gitops

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/sops"
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

// fingerprintAnnotation holds HMAC-SHA256(token, recipients + plaintext) of an encrypted Secret, so a
// publish whose secret content did not change keeps the old ciphertext (SOPS encryption is randomised)
// and stays "up to date". Without a token, whoever reads the repo could test guesses of the secret
// against a plain hash, so no fingerprint is written and secret files are re-encrypted every time.
const fingerprintAnnotation = "cac/fingerprint"

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
		ksops, err := jsonToYAML(map[string]any{
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
	k, err := jsonToYAML(kust)
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
	return marshalYAML(n)
}

func dataObjectNode(kind, name string, annotations map[string]string, files map[string][]byte) (*yaml.Node, error) {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	text, bin := orderedMap(), orderedMap()
	for _, k := range keys {
		v := files[k]
		if utf8.Valid(v) {
			text.Content = append(text.Content, strNode(k), strNode(string(v)))
		} else {
			bin.Content = append(bin.Content, strNode(k), strNode(base64.StdEncoding.EncodeToString(v)))
		}
	}
	meta := orderedMap("name", name)
	if len(annotations) > 0 {
		a := orderedMap()
		for _, k := range sortedKeys(annotations) {
			a.Content = append(a.Content, strNode(k), strNode(annotations[k]))
		}
		meta.Content = append(meta.Content, strNode("annotations"), a)
	}
	meta.Content = append(meta.Content, strNode("labels"), orderedMap("app.kubernetes.io/managed-by", "cac"))
	doc := orderedMap("apiVersion", "v1", "kind", kind, "metadata", meta)
	textKey, binKey := "data", "binaryData"
	if kind == "Secret" {
		doc.Content = append(doc.Content, strNode("type"), strNode("Opaque"))
		textKey, binKey = "stringData", "data"
	}
	if len(text.Content) > 0 {
		doc.Content = append(doc.Content, strNode(textKey), text)
	}
	if len(bin.Content) > 0 {
		doc.Content = append(doc.Content, strNode(binKey), bin)
	}
	return doc, nil
}

// secretFile returns the SOPS-encrypted Secret of s. When the fingerprint of the new content equals
// the one in the previously committed file (old), old is returned unchanged.
func (s *secretPlan) secretFile(recipients []string, token string, old []byte) ([]byte, error) {
	var ann map[string]string
	if token != "" {
		mac := hmac.New(sha256.New, []byte(token))
		mac.Write([]byte(strings.Join(recipients, ",") + "\x00"))
		for _, k := range sortedKeys(s.data) {
			fmt.Fprintf(mac, "%d:%s%d:", len(k), k, len(s.data[k]))
			mac.Write(s.data[k])
		}
		fp := hex.EncodeToString(mac.Sum(nil))
		if old != nil && oldFingerprint(old) == fp {
			return old, nil
		}
		ann = map[string]string{fingerprintAnnotation: fp}
	}
	doc, err := dataObjectNode("Secret", s.usn+"-secret", ann, s.data)
	if err != nil {
		return nil, err
	}
	return sops.EncryptSecret(doc, recipients, time.Now())
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

// jsonToYAML writes v (through its JSON form, so field names and order follow the json tags) as
// block-style YAML.
func jsonToYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(j, &n); err != nil {
		return nil, err
	}
	var plain func(*yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "\n") {
			n.Style = yaml.LiteralStyle
		}
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&n)
	return marshalYAML(&n)
}
