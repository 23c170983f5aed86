# botify - build, test, install, bench, sanitizer and fuzz targets.
# `make help` lists the targets. Build outputs live under $(B); the default
# build also links ./botify for the README's commands. Nothing here installs
# packages: scripts/deps.sh does (Debian), once, as its own step.

B        ?= build
PKGS     := libcjson zlib libcurl libmicrohttpd hiredis
LINK_PKGS := libcjson zlib      # the others are loaded on demand (below)
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wvla
# Warnings are errors in CI (CI=true, which CI services set), `make dev`,
# `make asan` and WERROR=1 -- not in a user's build, where a newer compiler's
# new warning must not stop the build.
ifneq ($(filter 1 true yes,$(WERROR) $(CI)),)
WARN     += -Werror
endif
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
INSTALL  ?= install
CFLAGS   ?= -O2 -g
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Ilib
# MPI=1: build with Open MPI (mpicc; Debian: libopenmpi-dev openmpi-bin) so
# that simulate, ab and train split their work over the ranks of mpirun or srun
# (docs/scale.md). Keep it in its own build dir: make MPI=1 B=build/mpi
ifeq ($(MPI),1)
CC       := mpicc
CPPFLAGS += -DBOTIFY_MPI
endif
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# OpenBLAS ships a .pc on Debian; fall back to -lopenblas once where it does not.
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null || echo -lcjson -lz)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

# libcurl, libmicrohttpd and hiredis are not linked: lib/dynlib.c loads each
# when a command first needs it (remote recommenders, serve, serve --redis),
# so that the others do not map their ~30 dependencies at every start. Their
# headers are still compiled against; the sonames loaded are those of the .so
# files -l would link (pkg-config's libdir, else the compiler's search path),
# lib/dynlib.h's Debian ones when none is found. dlopen is libc's since glibc
# 2.34, libdl's before.
soname       = $(shell for f in "$$(pkg-config --variable=libdir $(1) 2>/dev/null)/lib$(2).so" \
		 "$$($(CC) -print-file-name=lib$(2).so 2>/dev/null)"; do [ -f "$$f" ] && \
		 objdump -p "$$f" 2>/dev/null | awk '$$1 == "SONAME" { print $$2; exit }' && break; done)
SONAME_CURL := $(call soname,libcurl,curl)
SONAME_MHD  := $(call soname,libmicrohttpd,microhttpd)
SONAME_REDIS := $(call soname,hiredis,hiredis)
CPPFLAGS    += $(if $(SONAME_CURL),-DBOTIFY_SONAME_CURL='"$(SONAME_CURL)"') \
	       $(if $(SONAME_MHD),-DBOTIFY_SONAME_MICROHTTPD='"$(SONAME_MHD)"') \
	       $(if $(SONAME_REDIS),-DBOTIFY_SONAME_HIREDIS='"$(SONAME_REDIS)"')
DL_LIBS     := -Wl,--push-state,--as-needed -ldl -Wl,--pop-state

# libdeflate (Debian: libdeflate-dev) inflates gzip logs about three times
# faster than zlib; used when pkg-config finds it, zlib otherwise (or with
# LIBDEFLATE=0). `botify --version` says which.
LIBDEFLATE  ?= $(shell pkg-config --exists libdeflate 2>/dev/null && echo 1)
ifeq ($(LIBDEFLATE),1)
CPPFLAGS    += -DBOTIFY_LIBDEFLATE
PKG_CFLAGS  += $(shell pkg-config --cflags libdeflate)
PKG_LIBS    += $(shell pkg-config --libs libdeflate)
endif

ALL_CPPFLAGS = $(CPPFLAGS) $(BLAS_CFLAGS) $(PKG_CFLAGS)
ALL_CFLAGS   = $(WARN) $(CFLAGS) -MMD -MP        # WARN survives `make CFLAGS=...`
LDLIBS      += $(BLAS_LIBS) $(PKG_LIBS) -lpthread -lm $(DL_LIBS)

# a missing library is a hint to run the install step, never an install
ifneq ($(if $(MAKECMDGOALS),$(filter-out clean help uninstall deps,$(MAKECMDGOALS)),all),)
ifeq ($(shell pkg-config --exists $(PKGS) 2>/dev/null && echo ok),)
$(warning pkg-config does not find all of: $(PKGS); on Debian or Ubuntu run: sh scripts/deps.sh)
endif
endif

# the commit --version reports; a stamp rebuilds main.o when it changes
COMMIT := $(shell [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && \
		  git describe --always --dirty 2>/dev/null || echo unknown)

LIB_SRC   := $(sort $(wildcard lib/*.c))
CMD_SRC   := $(sort $(wildcard cmd/*.c))
CHECK_SRC := $(sort $(wildcard tests/check_*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
CMD_OBJ   := $(CMD_SRC:%.c=$(B)/%.o)
CHECK_OBJ := $(CHECK_SRC:%.c=$(B)/%.o)
# every tests/check_<module>.c exports <module>_suite(); the runner's list is
# generated from the file names so adding a suite touches no shared file
SUITES    := $(patsubst tests/check_%.c,%,$(filter-out tests/check_main.c,$(CHECK_SRC)))

BOTIFY    := $(B)/botify
CHECK_BIN := $(B)/check_botify

.PHONY: all test unit e2e asan bench demo deps clean help fuzz check-torch dev man completions \
	install uninstall FORCE calibrate-ab paired-gain torch-parity bench-mpi

all: $(BOTIFY) ## build the botify binary (and ./botify for the default build)
ifeq ($(B),build)
all: botify
botify: $(BOTIFY)
	ln -sf $(BOTIFY) botify
endif

# objects depend on the flags they were built with, so `make dev` after
# `make` (or a changed CFLAGS) rebuilds instead of keeping stale objects
$(B)/flags.stamp: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS)' > $@
$(B)/commit.stamp: FORCE
	@mkdir -p $(B)
	@echo '$(COMMIT)' | cmp -s - $@ || echo '$(COMMIT)' > $@

$(B)/%.o: %.c $(B)/flags.stamp
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/cmd/main.o: $(B)/commit.stamp
$(B)/cmd/main.o: ALL_CPPFLAGS += -DBOTIFY_COMMIT='"$(COMMIT)"'

$(B)/libbotify.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BOTIFY): $(CMD_OBJ) $(B)/libbotify.a
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(B)/libbotify.a $(LDLIBS)

$(B)/tests/suites.h: Makefile $(CHECK_SRC)
	@mkdir -p $(dir $@)
	@{ for s in $(SUITES); do echo "Suite *$${s}_suite(void);"; done; \
	   echo "#define BOTIFY_SUITES \\"; \
	   for s in $(SUITES); do echo "	X($$s) \\"; done; echo; } > $@

$(B)/tests/check_main.o: $(B)/tests/suites.h
$(B)/tests/%.o: ALL_CPPFLAGS += $(CHECK_CFLAGS) -I$(B)/tests -DDATA_DIR='"tests/data"'

# the flag table's parser is cmd/ code with a suite of its own (check_flags.c)
$(CHECK_BIN): $(CHECK_OBJ) $(B)/cmd/flags.o $(B)/libbotify.a
	$(CC) $(LDFLAGS) -o $@ $(CHECK_OBJ) $(B)/cmd/flags.o $(B)/libbotify.a $(CHECK_LIBS) $(LDLIBS)

deps: ## install missing Debian packages (needs root or sudo); no other target runs it
	@sh scripts/deps.sh

dev: ## the developer build: ./botify with warnings as errors
	$(MAKE) all WERROR=1

unit: $(CHECK_BIN) ## run the Check unit suites
	$(CHECK_BIN)

e2e: $(BOTIFY) ## run the end-to-end shell tests against the real binary
	BOTIFY=$(abspath $(BOTIFY)) tests/e2e/run.sh

test: ## build, run every test (unit suites and end-to-end)
	$(MAKE) unit e2e

# sanitized code runs a few times slower: Check's per-test timeouts scale with it
asan: ## the whole test suite under ASan+UBSan, in its own build dir
	CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-4} \
		$(MAKE) unit e2e B=build/asan CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" WERROR=1

bench: all ## benchmarks: simulator, ab, train (medians of several runs)
	BOTIFY=$(abspath $(BOTIFY)) scripts/bench.sh

bench-mpi: ## simulate (nn), train, export and ab on a large log on 1 and 2 MPI ranks: strong and weak scaling, CPU cost (builds MPI=1 in build/mpi)
	$(MAKE) MPI=1 B=build/mpi build/mpi/botify
	BOTIFY=$(abspath build/mpi/botify) scripts/bench_mpi.sh

calibrate-ab: all ## the A/B calibration battery: false positives and coverage (minutes)
	BOTIFY=$(abspath $(BOTIFY)) scripts/calibrate_ab.sh --svg calibration-ab/calibration.svg

paired-gain: all ## interval widths of paired vs split A/B designs (minutes)
	BOTIFY=$(abspath $(BOTIFY)) scripts/paired_gain.sh

demo: all ## build, then the whole offline loop on the built-in world (outputs in demo/)
	BOTIFY=$(abspath $(BOTIFY)) scripts/demo.sh

# Man pages and completions are rendered by the binary from the flag tables
# that parse the options and print --help, so they cannot drift from it.
MAN_DIR  := $(B)/man
COMP_DIR := $(B)/completions

man: $(MAN_DIR)/stamp ## render the man pages botify(1), botify-COMMAND(1) into $(B)/man
$(MAN_DIR)/stamp: $(BOTIFY)
	@rm -rf $(MAN_DIR) && mkdir -p $(MAN_DIR)
	$(BOTIFY) --help-man > $(MAN_DIR)/botify.1
	for c in $$($(BOTIFY) completion commands); do \
		$(BOTIFY) $$c --help-man > $(MAN_DIR)/botify-$$c.1 || exit 1; done
	@touch $@

completions: $(COMP_DIR)/stamp ## render the bash and zsh completions into $(B)/completions
$(COMP_DIR)/stamp: $(BOTIFY)
	@rm -rf $(COMP_DIR) && mkdir -p $(COMP_DIR)
	$(BOTIFY) completion bash > $(COMP_DIR)/botify
	$(BOTIFY) completion zsh > $(COMP_DIR)/_botify
	@touch $@

install: $(BOTIFY) man completions ## install into $(DESTDIR)$(PREFIX) (default PREFIX=/usr/local)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 755 $(BOTIFY) $(DESTDIR)$(BINDIR)/botify
	$(INSTALL) -m 644 $(MAN_DIR)/*.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 $(COMP_DIR)/botify $(DESTDIR)$(BASHCOMPDIR)/botify
	$(INSTALL) -m 644 $(COMP_DIR)/_botify $(DESTDIR)$(ZSHCOMPDIR)/_botify

# removes exactly what install wrote: the man pages by the pattern install
# uses, never a directory (others may hold files there)
uninstall: ## remove what install wrote (same PREFIX and DESTDIR)
	rm -f $(DESTDIR)$(BINDIR)/botify $(DESTDIR)$(MANDIR)/man1/botify.1 \
		$(DESTDIR)$(MANDIR)/man1/botify-*.1 \
		$(DESTDIR)$(BASHCOMPDIR)/botify $(DESTDIR)$(ZSHCOMPDIR)/_botify

fuzz: ## build the libFuzzer targets and run each FUZZ_SECONDS (default 30; needs clang)
	scripts/fuzz.sh

check-torch: $(BOTIFY) $(B)/libbotify.a ## compare the model's forward/backward with PyTorch (needs python3-torch; not in CI)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $(B)/check_torch_dump tests/torch_dump.c $(B)/libbotify.a $(LDLIBS)
	$(or $(PYTHON),$(wildcard /usr/bin/python3),python3) scripts/check_torch.py $(abspath $(BOTIFY)) $(abspath $(B)/check_torch_dump)

torch-parity: $(BOTIFY) $(B)/libbotify.a ## botify train vs PyTorch on the same split (needs python3-torch; minutes; not in CI)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $(B)/check_torch_dump scripts/check_torch_dump.c $(B)/libbotify.a $(LDLIBS)
	$(or $(PYTHON),$(wildcard /usr/bin/python3),python3) scripts/torch_parity.py $(abspath $(BOTIFY)) $(abspath $(B)/check_torch_dump)

clean: ## remove build outputs
	rm -rf build botify

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | sed -e 's/:.*## /\t/' \
		-e 's|\$$(B)|$(B)|g' -e 's|\$$(DESTDIR)|$(DESTDIR)|g' -e 's|\$$(PREFIX)|$(PREFIX)|g' | sort

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(CHECK_OBJ:.o=.d)
