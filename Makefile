# Developer entry points. CI runs `make test` (see .ci/run). Every target that builds first
# makes sure the Debian packages are there (scripts/install-deps; quiet when nothing is missing):
# build, run, debug and install need only the build set; `make test` (scripts/run-tests) and
# `make deps` install everything the tests, fuzzing and tooling use as well.
PREFIX ?= /usr/local
DESTDIR ?=
JOBS ?= $(shell nproc)

RELEASE_DIR := build/release
DEBUG_DIR := build/debug
KFK := $(RELEASE_DIR)/src/cli/kfk

.PHONY: all deps build-deps build debug run test format format-check lint clean install man \
	completions

all: build

deps:
	@scripts/install-deps all

build-deps:
	@scripts/install-deps build

# Optimised kfk, as `run` and `install` use it.
build: build-deps
	cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DKFK_BUILD_TESTS=OFF
	ninja -C $(RELEASE_DIR) -j$(JOBS) kfk
	@$(MAKE) --no-print-directory man completions

# Man pages and completion scripts come from kfk's command tree; the copies in man/ and
# completions/ are committed, and tests/cli checks that they match the binary.
man:
	@./$(KFK) __man man

completions:
	@./$(KFK) completion bash > completions/kfk.bash
	@./$(KFK) completion zsh > completions/_kfk
	@./$(KFK) completion fish > completions/kfk.fish

# Everything, with debug info and the unit tests.
debug: build-deps
	cmake -S . -B $(DEBUG_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug
	ninja -C $(DEBUG_DIR) -j$(JOBS)

run: build
	./$(KFK) server start

# All suites (unit, sanitizers, pytest, fuzz); ends with "N passed, N failed, N skipped".
test:
	@scripts/run-tests

FORMAT_FILES = find src tests \( -name '*.cpp' -o -name '*.h' \) -print0

format: deps
	$(FORMAT_FILES) | xargs -0 clang-format -i

format-check: deps
	$(FORMAT_FILES) | xargs -0 clang-format --dry-run -Werror

# clang-tidy (checks in .clang-tidy) over our own sources in the debug build's
# compile_commands.json. Advisory: not part of `make test`.
lint: debug
	run-clang-tidy -quiet -p $(DEBUG_DIR) '$(CURDIR)/src/.*\.cpp$$'

clean:
	rm -rf build

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(KFK) $(DESTDIR)$(PREFIX)/bin/kfk
	@for page in man/*.[1-8]; do \
	  [ -f "$$page" ] || continue; \
	  section=$${page##*.}; \
	  install -d $(DESTDIR)$(PREFIX)/share/man/man$$section; \
	  echo "install $$page"; \
	  install -m 644 "$$page" $(DESTDIR)$(PREFIX)/share/man/man$$section/; \
	done
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 completions/kfk.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/kfk
	install -d $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 644 completions/_kfk $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_kfk
	install -d $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 644 completions/kfk.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/kfk.fish
