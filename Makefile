# The course's commands. Each target installs what is missing first, then does its job:
#   make course     build (release) and run every chapter in order on the default corpus → runs/course/
#   make test       build and run every test (what CI runs)
#   make exercises  grade your solutions in Exercises/Stubs and print a scoreboard
#   make docs       run every chapter and write the course book's pages → docs/chapters/ (QUICK=1: seconds)
#   make docs-text  refresh the pages' prose and code from the sources, keeping their outputs (runs nothing)
#   make bench      speed figures as ratios to this machine's sgemm peak → runs/bench/bench.json
#   make bench-reference   llama2.c's decoding algorithm in C, for the generation rows (optional)
#   make fuzz       libFuzzer over the safetensors, config.json and tokenizer parsers (FUZZ_RUNS inputs each)
#   make install    install the `llm` command line to $(PREFIX)/bin
# Options: QUICK=1 (course in seconds), THREADS=N, RUN_DIR=folder, PREFIX=/usr/local.

SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift
PREFIX ?= /usr/local
RUN_DIR ?= runs/course
APT_PACKAGES := libopenblas-dev libsqlite3-dev libgnuplot-iostream-dev gnuplot-nox fortunes fortunes-zh xz-utils gzip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The course order: one executable per Chapters/NN-Name folder (Package.swift lists the same; a test checks).
CHAPTERS := $(shell ls Chapters | sed -nE "s/^([0-9]+)-.*/ch\1/p")
CHAPTER_FLAGS := --run-dir $(RUN_DIR) $(if $(QUICK),--quick) $(if $(THREADS),--threads $(THREADS))

.PHONY: all deps build course test exercises docs docs-text bench bench-reference fuzz install clean

all: course

deps:
	@if ! command -v $(SWIFT) >/dev/null 2>&1; then \
	  echo "error: the Swift toolchain (6.0 or later) is not on PATH; install it from swift.org and run make again" >&2; exit 1; fi
	@if command -v dpkg >/dev/null 2>&1; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "make deps: installing$$missing"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null \
	      || { echo "error: could not install$$missing with apt-get; install them by hand and run make again" >&2; exit 1; }; \
	  fi; \
	elif command -v brew >/dev/null 2>&1; then \
	  for p in openblas gnuplot boost fortune; do brew list $$p >/dev/null 2>&1 || brew install $$p; done; \
	else \
	  echo "warning: neither apt-get nor brew found; install OpenBLAS, gnuplot-iostream (with Boost) and gnuplot yourself" >&2; \
	fi
	@# Python tiktoken, safetensors, numpy, jinja2, scikit-learn, gguf, rank_bm25, sacrebleu, rouge-score, openai:
	@# optional, for the tests that check our files, figures and server against Python's (they skip, saying so,
	@# without them).
	@python3 -c "import tiktoken, safetensors, numpy, jinja2, sklearn, gguf, rank_bm25, sacrebleu, rouge_score, openai" \
	  >/dev/null 2>&1 \
	  || python3 -m pip install -q tiktoken safetensors numpy jinja2 scikit-learn gguf rank_bm25 sacrebleu rouge-score \
	     openai \
	  >/dev/null 2>&1 \
	  || echo "note: could not install the Python oracle packages above; their tests will be skipped"
	@# Chromium, optional: the test that loads llm serve's chat page in a headless browser (skips without it).
	@if command -v dpkg >/dev/null 2>&1 && ! dpkg -s chromium >/dev/null 2>&1; then \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; } >/dev/null 2>&1 \
	  || echo "note: could not install chromium; the chat-page browser test will be skipped"; \
	fi

build: deps
	$(SWIFT) build -c release

course: build
	@for chapter in $(CHAPTERS); do \
	  echo "▶ $$chapter $(CHAPTER_FLAGS)"; \
	  .build/release/$$chapter $(CHAPTER_FLAGS) || exit 1; \
	done
	@# The report card over every model the chapters wrote (Chapter 10's harness; 600 held-out entries each).
	@echo "▶ llm eval report --run-dir $(RUN_DIR)"
	@.build/release/llm eval report --run-dir $(RUN_DIR) --max-entries $(if $(QUICK),40,600) > /dev/null
	@echo "Plots and outputs: $(RUN_DIR)/ (report card: $(RUN_DIR)/eval/report.md)"

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

exercises: deps
	@$(SWIFT) build --product exercises >/dev/null
	@.build/debug/exercises

docs: build
	.build/release/book $(if $(QUICK),--quick) $(if $(THREADS),--threads $(THREADS)) --run-dir $(RUN_DIR)

docs-text: deps
	$(SWIFT) build -c release --product book
	.build/release/book --keep-outputs

bench: deps
	$(SWIFT) build -c release --product llm
	.build/release/llm bench $(if $(THREADS),--threads $(THREADS))

# Optional: llama2.c's decoding algorithm in C, timed on this machine (needs a C compiler with OpenMP).
bench-reference:
	@mkdir -p .build
	cc -Ofast -march=native -fopenmp -o .build/decode_reference bench/decode_reference.c -lm
	@for t in 1 2; do echo "decode_reference, $$t thread(s):"; OMP_NUM_THREADS=$$t .build/decode_reference; done

# libFuzzer (it ships with the Swift toolchain on Linux) over the parsers of the files a user hands us, each
# target for FUZZ_RUNS inputs, in a release (-Ounchecked) build. A crash stops it with the input saved as
# .build-fuzz/crashes/<target>-crash-…: copy it to Tests/Fixtures/fuzz-regressions/<target>/ and fix the parser.
FUZZ_RUNS ?= 1000000
FUZZ_TARGETS := safetensors config tokenizer
# Coverage and AddressSanitizer at compile time; libFuzzer's driver without its main (ours calls it), since
# SwiftPM gives every executable a main of its own.
FUZZER_LIB = $(firstword $(wildcard $(dir $(shell command -v swiftc))../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-*.a))
fuzz: deps
	@test -n "$(FUZZER_LIB)" || { echo "error: libFuzzer (libclang_rt.fuzzer_no_main) not found beside swiftc; make fuzz needs the Linux toolchain" >&2; exit 1; }
	$(SWIFT) build -c release --product fuzz-parsers --scratch-path .build-fuzz -Xswiftc -DFUZZING \
	  -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp -Xlinker $(FUZZER_LIB) -Xlinker -lstdc++
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$t .build-fuzz/crashes; \
	  echo "▶ fuzz $$t: $(FUZZ_RUNS) inputs"; \
	  LLM_FUZZ_TARGET=$$t .build-fuzz/release/fuzz-parsers .build-fuzz/corpus/$$t Fuzz/seeds/$$t Tests/Fixtures/fuzz-regressions/$$t \
	    -runs=$(FUZZ_RUNS) -max_len=8192 -timeout=10 -rss_limit_mb=4096 -artifact_prefix=.build-fuzz/crashes/$$t- \
	    -print_final_stats=1 > .build-fuzz/$$t.log 2>&1 \
	    || { tail -n 40 .build-fuzz/$$t.log; echo "fuzz $$t: crashed (input in .build-fuzz/crashes/)"; exit 1; }; \
	  grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)" .build-fuzz/$$t.log; \
	done

install: deps
	$(SWIFT) build -c release --product llm
	install -d $(PREFIX)/bin
	install -m 755 .build/release/llm $(PREFIX)/bin/llm
	@echo "installed $(PREFIX)/bin/llm"

clean:
	rm -rf .build runs
