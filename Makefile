# The two commands a newcomer needs (see README.md):
#   make run   - the whole product locally: API, worker and simulators, migrated and seeded
#   make test  - the whole test suite against real PostgreSQL and Redis
#   make stop  - stop the project-local PostgreSQL and Redis those started
# Both find or start PostgreSQL and Redis through scripts/with-services.sh.

GO ?= go

.PHONY: run stop test build vet lint fmt bench

MEMORY_TESTS = Memory|Bombs
MEMORY_PKGS = ./mobile-api/ ./internal/qrscan/ ./internal/task/ ./internal/sheet/ ./internal/adminapi/ ./internal/catalog/ ./internal/reward/giftery/ ./internal/reward/qiwi/

# staticcheck, pinned: run from the module proxy, nothing to install by hand.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Builds first (saying so: the first build takes a minute), then runs the
# binary, which prints migrating…, seeding… and ready: with the URLs.
run:
	@echo "building… ($(GO) build -o bin/loyaltyjam ./cmd/loyaltyjam)"
	@CGO_ENABLED=0 $(GO) build -o bin/loyaltyjam ./cmd/loyaltyjam
	@./scripts/with-services.sh bin/loyaltyjam dev

# Stops the project-local PostgreSQL and Redis (under .local/) that run or
# test started; servers it did not start are left alone.
stop:
	@./scripts/with-services.sh --stop

# The static checks first (gofmt, go vet, staticcheck): a red lint fails
# CI before the long run.
# The heap bounds of the bomb and big-photo tests hold only without the
# race detector (it multiplies memory), so those tests run once more
# without it.
test: lint
	./scripts/with-services.sh --chromium $(GO) test -race -count=1 -timeout 30m ./...
	./scripts/with-services.sh $(GO) test -count=1 -run '$(MEMORY_TESTS)' $(MEMORY_PKGS)

build:
	CGO_ENABLED=0 $(GO) build -o bin/loyaltyjam ./cmd/loyaltyjam

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

lint: vet
	$(GO) run $(STATICCHECK) ./...

bench:
	./scripts/with-services.sh $(GO) test -run '^$$' -bench . -benchmem ./...
