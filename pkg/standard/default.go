package standard

import "github.com/cacproj/cac/rules"

// Default loads the standard built into cac (rules/standard.yaml and its whitelist).
func Default() (*Standard, error) {
	return Load(rules.StandardName, rules.Standard, LoadOptions{ReadFile: FSReader(rules.FS)})
}
