// Package istio checks, in a module of its own, that the Istio objects `cac subenv create` writes
// are accepted by Istio's own Go API types (istio.io/client-go networking/v1), decoded strictly: an
// unknown field fails. It is a separate module so Istio, Kubernetes and protobuf's reflection never
// reach cac's module graph or binary. `make test` runs it.
package istio
