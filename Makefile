# botify - build, test, bench, sanitizer and fuzz targets.
# `make help` lists the targets. Build outputs live under $(B); the default
# build also links ./botify for the README's commands.

B        ?= build
PKGS     := libcjson zlib libcurl libmicrohttpd hiredis
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
CFLAGS   ?= -O2 -g
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Ilib
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# OpenBLAS ships a .pc on Debian; fall back to -lopenblas once where it does not.
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcjson -lz -lcurl -lmicrohttpd -lhiredis)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

ALL_CPPFLAGS = $(CPPFLAGS) $(BLAS_CFLAGS) $(PKG_CFLAGS)
ALL_CFLAGS   = $(WARN) $(CFLAGS) -MMD -MP        # WARN survives `make CFLAGS=...`
LDLIBS      += $(BLAS_LIBS) $(PKG_LIBS) -lpthread -lm

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

.PHONY: all test unit e2e asan bench demo deps clean help fuzz check-torch torch-parity

all: $(BOTIFY) ## build the botify binary (and ./botify for the default build)
ifeq ($(B),build)
all: botify
botify: $(BOTIFY)
	ln -sf $(BOTIFY) botify
endif

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

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

$(CHECK_BIN): $(CHECK_OBJ) $(B)/libbotify.a
	$(CC) $(LDFLAGS) -o $@ $(CHECK_OBJ) $(B)/libbotify.a $(CHECK_LIBS) $(LDLIBS)

deps: ## install missing apt packages (needs root or sudo)
	@scripts/deps.sh

unit: $(CHECK_BIN) ## run the Check unit suites
	$(CHECK_BIN)

e2e: $(BOTIFY) ## run the end-to-end shell tests against the real binary
	BOTIFY=$(abspath $(BOTIFY)) tests/e2e/run.sh

test: deps ## install missing packages, build, run every test
	$(MAKE) unit e2e

asan: ## the whole test suite under ASan+UBSan, in its own build dir
	$(MAKE) unit e2e B=build/asan CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)"

bench: deps ## benchmarks: simulator, ab, train (medians of several runs)
	$(MAKE) all
	BOTIFY=$(abspath $(BOTIFY)) scripts/bench.sh

demo: deps ## install missing packages, build, run a short simulation on the built-in world
	$(MAKE) all
	BOTIFY=$(abspath $(BOTIFY)) scripts/demo.sh

fuzz: ## build libFuzzer targets for the parsers (needs clang)
	scripts/fuzz.sh

check-torch: $(BOTIFY) $(B)/libbotify.a ## compare the model's forward/backward with PyTorch (needs python3-torch; not in CI)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $(B)/check_torch_dump scripts/check_torch_dump.c $(B)/libbotify.a $(LDLIBS)
	$(or $(PYTHON),$(wildcard /usr/bin/python3),python3) scripts/check_torch.py $(abspath $(BOTIFY)) $(abspath $(B)/check_torch_dump)

torch-parity: $(BOTIFY) $(B)/libbotify.a ## botify train vs PyTorch on the same split (needs python3-torch; minutes; not in CI)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $(B)/check_torch_dump scripts/check_torch_dump.c $(B)/libbotify.a $(LDLIBS)
	$(or $(PYTHON),$(wildcard /usr/bin/python3),python3) scripts/torch_parity.py $(abspath $(BOTIFY)) $(abspath $(B)/check_torch_dump)

clean: ## remove build outputs
	rm -rf build botify

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(CHECK_OBJ:.o=.d)
