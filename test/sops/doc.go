// Package sops checks, in a module of its own, that the Secrets `cac publish` encrypts are read by
// the real SOPS library (github.com/getsops/sops/v3): decrypted with the age identity, they give
// back the rendered files. It is a separate module because every sops package but sops/age links
// the AWS, GCP, Azure, Vault and HuaweiCloud KMS clients; nothing here reaches the cac binary.
// `make test` runs it.
package sops
