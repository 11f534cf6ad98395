// Package argocd checks, in a module of its own, that every Argo CD object cac generates is
// accepted by Argo CD's own Go API types (argo-cd/v2 pkg/apis/application/v1alpha1), decoded
// strictly: an unknown field fails. It is a separate module because argo-cd/v2 needs
// cyphar/filepath-securejoin v0.3 while go-git, in cac's module, needs v0.6; nothing here is
// linked into the cac binary. `make test` runs it.
package argocd
