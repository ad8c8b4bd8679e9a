# kubectl-sdr-mirror — build, test, lint.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go

PKG := github.com/sdr-mirror/kubectl-sdr-mirror
BIN := bin/kubectl-sdr_mirror
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || true)
LDFLAGS := -s -w -X $(PKG)/pkg/cmd/version.version=$(VERSION) -X $(PKG)/pkg/cmd/version.commit=$(COMMIT)

# Tools are cached outside the repository.
export SDR_MIRROR_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/sdr-mirror
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(SDR_MIRROR_CACHE)/golangci-lint/$(GOLANGCI_LINT_VERSION)/golangci-lint
# v2.16.0: the newest goreleaser that builds with Go 1.26 from the Go module proxy.
GORELEASER_VERSION := v2.16.0
GORELEASER := $(SDR_MIRROR_CACHE)/goreleaser/$(GORELEASER_VERSION)/goreleaser
FUZZTIME ?= 30s

.PHONY: all build demo test unit lint fmt verify fuzz clean install-helm-plugin image release-snapshot release

all: build

build: ## build bin/kubectl-sdr_mirror
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-sdr-mirror

HELM ?= helm
install-helm-plugin: build ## install this working tree as the Helm plugin "sdr-mirror" (HELM=path/to/helm)
	$(HELM) plugin uninstall sdr-mirror >/dev/null 2>&1 || true
	$(HELM) plugin install $(CURDIR)

# The container image, built without a container runtime (hack/image):
# static binaries on an empty base, pushed to IMAGE. For a local registry:
#   make image IMAGE=127.0.0.1:5000/kubectl-sdr-mirror:dev IMAGE_FLAGS=--insecure
IMAGE ?= ghcr.io/sdr-mirror/kubectl-sdr-mirror:$(VERSION)
IMAGE_PLATFORMS ?= linux/amd64 linux/arm64
IMAGE_FLAGS ?=
image: ## build the container image and push it to IMAGE
	for p in $(IMAGE_PLATFORMS); do \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
			-o bin/image/$${p%/*}-$${p#*/}/kubectl-sdr_mirror ./cmd/kubectl-sdr-mirror; \
	done
	$(GO) run ./hack/image --tag $(IMAGE) --version $(VERSION) $(IMAGE_FLAGS) \
		$(foreach p,$(IMAGE_PLATFORMS),--binary $(p)=bin/image/$(subst /,-,$(p))/kubectl-sdr_mirror)

demo: build ## a real sync on loopback: registries, latest-releases, signed images, a file:// bucket
	$(GO) run ./hack/demo $(BIN)

# Tests that need a real component (kube-apiserver, Distribution, object
# stores, cosign) inside pkg/ carry the integration build tag, so that
# `make unit` (go test ./pkg/...) needs none.
test: build ## go vet and every test, with the real components they need
	$(GO) vet -tags integration ./...
	tools=$$(hack/install-tools.sh); set -a; eval "$$tools"; set +a; \
	SDR_MIRROR_BIN=$(abspath $(BIN)) $(GO) test -tags integration -count=1 -timeout 30m ./...

unit: ## tests that need no external component: every command and domain package
	$(GO) test -count=1 ./pkg/... ./internal/depcheck/...

fuzz: ## run every fuzz target for FUZZTIME each
	for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

$(GOLANGCI_LINT):
	GOBIN=$(dir $(GOLANGCI_LINT)) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

lint: $(GOLANGCI_LINT) ## golangci-lint at the pinned version
	$(GOLANGCI_LINT) run ./...

fmt: ## format the code
	$(GO) fmt ./...

verify: release-snapshot ## go.mod tidy, code formatted, shell scripts parse, release archives and krew manifests valid
	$(GO) mod tidy -diff
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run 'make fmt'"; exit 1; }
	for f in hack/*.sh bench/*.sh .ci/run; do bash -n "$$f"; done
	for f in plugin/install.sh plugin/kubectl_complete-sdr_mirror plugin.complete; do sh -n "$$f"; done

$(GORELEASER):
	GOBIN=$(dir $(GORELEASER)) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

# goreleaser's snapshot: the six archives, checksums.txt and the krew manifest
# in dist/; then both krew manifests (goreleaser's and .krew.yaml rendered as
# krew-release-bot does) checked against krew's rules and the archives.
release-snapshot: $(GORELEASER) ## build the release archives and krew manifest into dist/ and check them
	$(GORELEASER) check
	$(GORELEASER) release --snapshot --clean --skip=publish
	$(GO) run ./hack/krew validate --archives dist dist/krew/sdr-mirror.yaml
	$(GO) run ./hack/krew render --tag v0.0.0 --archives dist .krew.yaml > dist/krew-release-bot.yaml
	$(GO) run ./hack/krew validate --archives dist dist/krew-release-bot.yaml

# A release: goreleaser builds, archives and publishes; after building each
# platform's binary it runs hack/helmplugin, which has Helm 4 package and
# sign that platform's Helm plugin tarball. The signing key is required:
#   SDR_MIRROR_SIGNING_KEY          name of the OpenPGP key (its user ID, or part of it)
#   SDR_MIRROR_SIGNING_KEYRING      keyring file with its secret key (gpg --export-secret-keys --armor NAME)
#   SDR_MIRROR_SIGNING_PUBLIC_KEY   its public key (gpg --export --armor NAME), published as sdr-mirror-release.asc
#   SDR_MIRROR_SIGNING_PASSPHRASE_FILE  (optional) the key's passphrase
#   HELM4                           (optional) a Helm 4 binary; default: hack/install-helm.sh 4
release: ## publish a release: archives, krew manifest, signed Helm plugin tarballs (GITHUB_TOKEN, SDR_MIRROR_SIGNING_*)
	for v in SDR_MIRROR_SIGNING_KEY SDR_MIRROR_SIGNING_KEYRING SDR_MIRROR_SIGNING_PUBLIC_KEY; do \
		test -n "$${!v:-}" || { echo "make release: $$v is not set: the Helm plugin tarballs must be signed, and Helm 4 refuses unsigned ones (see the Makefile's release target)" >&2; exit 1; }; \
	done
	for f in "$$SDR_MIRROR_SIGNING_KEYRING" "$$SDR_MIRROR_SIGNING_PUBLIC_KEY"; do \
		test -r "$$f" || { echo "make release: $$f cannot be read" >&2; exit 1; }; \
	done
	$(MAKE) --no-print-directory $(GORELEASER)
	HELM4=$${HELM4:-$$(hack/install-helm.sh 4)/helm}; export HELM4; \
	$(GORELEASER) release --clean

clean:
	rm -rf bin dist
