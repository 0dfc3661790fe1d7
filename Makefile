# The two commands a newcomer needs (see README.md):
#   make run   - the whole product locally: API, worker and simulators, migrated and seeded
#   make test  - the whole test suite against real PostgreSQL and Redis
# Both find or start PostgreSQL and Redis through scripts/with-services.sh.

GO ?= go

.PHONY: run test build vet fmt bench

run:
	./scripts/with-services.sh $(GO) run ./cmd/loyaltyjam dev

test:
	./scripts/with-services.sh --chromium $(GO) test -race -count=1 ./...

build:
	CGO_ENABLED=0 $(GO) build -o bin/loyaltyjam ./cmd/loyaltyjam

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

bench:
	./scripts/with-services.sh $(GO) test -run '^$$' -bench . -benchmem ./...
