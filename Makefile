# The README's two commands, `make demo` and `make test`, do all set-up on a fresh Debian or
# Raspberry Pi OS machine: Debian packages (when missing), then .venv with the Python packages.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages, each installed only when missing (tools/debian-packages: a name also counts as
# installed when a package providing it is, e.g. libzbar0t64 on trixie; a name ending in ? is used
# where the archive has it and left out with a note otherwise).
# What the appliance needs to run (the demo, every device; the offline bundle lists the same):
#   tzdata: local time zones for day-bound numbering
#   libusb-1.0-0: USB printers through pyusb
#   fonts-dejavu-core: the screens' and the tickets' typeface (Latin, Cyrillic, Arabic and Farsi)
#   libfribidi0: Pillow's raqm orders Arabic and Farsi right to left for the tickets' printed lines
#   espeak-ng: offline spoken announcements
#   libzbar0: QR decoding (pyzbar)
#   python3-lgpio (a Pi only): gpiozero's pin library, only in Raspberry Pi's archive; elsewhere PyPI's
#     lgpio wheel serves Python 3.11 and gpiozero's other pin backends 3.13
DEBIAN_PACKAGES := tzdata libusb-1.0-0 fonts-dejavu-core libfribidi0 espeak-ng libzbar0 \
                   $(if $(filter aarch64,$(shell uname -m)),python3-lgpio?,)
# A device with the monitor role, full screen without a desktop: pygame-ce's SDL (KMSDRM) loads these.
#   libdrm2, libgbm1, libegl1, libegl-mesa0, libgles2: KMS/DRM output and EGL/GLES rendering
#   libgl1-mesa-dri: the GPU's Mesa driver (vc4/v3d; llvmpipe where none is loaded)
#   libasound2: the chime and the speech through SDL's ALSA output
MONITOR_DEBIAN_PACKAGES := libdrm2 libgbm1 libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libasound2
# Only the tests (make test, make bench):
#   systemd: systemd-analyze, which the tests use to verify and rate the unit files
#   tesseract-ocr: the tests read the monitor's numbers back from its pixels
#   tesseract-ocr-ara, -fas, -rus, -tur, -ukr: ... and each shipped language's words
#   chromium, chromium-driver: the tests drive the backend's counter and wait pages in a real browser
#   libfaketime: clock jumps under a real daemon
#   postgresql: the backend's tests run on a real PostgreSQL server too
TEST_DEBIAN_PACKAGES := systemd tesseract-ocr tesseract-ocr-ara tesseract-ocr-fas tesseract-ocr-rus tesseract-ocr-tur \
                        tesseract-ocr-ukr chromium chromium-driver libfaketime postgresql
# Only where no evdev wheel is at hand (PyPI ships none; the offline bundle carries its own, built for arm64).
BUILD_DEBIAN_PACKAGES := gcc python3-dev linux-libc-dev
# A Python without ensurepip (Debian's, before python3-venv) cannot make the venv.
VENV_DEBIAN_PACKAGES = $(if $(shell $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null && echo ok),,python3-venv)
DEMO_ARGS ?= --minutes 120
# On a Pi the venv also sees Debian's python3-lgpio (gpiozero's pin library; no PyPI wheel for 3.13).
VENV_FLAGS := $(if $(filter aarch64,$(shell uname -m)),--system-site-packages,)

.PHONY: demo test test-fast coverage lint bench mutants install bundle system-packages test-packages catalogs \
        catalogs-update clean

demo: system-packages $(VENV)/.installed catalogs
	$(BIN)/entrance-appliance demo $(DEMO_ARGS)

# pytest with compiled bytecode kept between runs, also where the shell sets PYTHONDONTWRITEBYTECODE: without
# it every run compiles the package again and rewrites the asserts of every test module and of hypothesis and
# schemathesis (pytest plugins), about 5 s of CPU in each worker. The cache lives in .venv, out of the sources.
PYTEST := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache $(BIN)/python -m pytest

# The whole suite on both cores (pytest-xdist; a file's tests stay on one worker), measuring branch coverage;
# then the rule modules' coverage (README: Tests says what they leave out and why) and the whole package's.
test: system-packages test-packages $(VENV)/.installed catalogs lint
	$(PYTEST) -n 2 --dist loadfile --cov --cov-report=html:var/coverage $(PYTEST_ARGS)
	$(MAKE) --no-print-directory coverage

# The unit layer, no backend, daemon or screen: under a minute, for running after every change.
test-fast: test-packages $(VENV)/.installed catalogs
	$(PYTEST) -n 2 -m "not slow" $(FAST_TESTS) $(PYTEST_ARGS)
FAST_TESTS := tests/domain tests/forecast tests/printer tests/drivers tests/sync/test_wire.py

# The rule modules' branch coverage from the last `make test` (var/coverage/index.html shows every line).
RULE_MODULES := appliance/domain/numbering.py appliance/domain/state.py appliance/domain/checkin.py \
  appliance/domain/codes.py appliance/domain/office.py appliance/domain/journal.py appliance/domain/config/types.py \
  appliance/sync/wire.py appliance/sync/device_sync.py printer/status.py drivers/dispenser.py
comma := ,
coverage: $(VENV)/.installed
	$(BIN)/coverage report --no-skip-covered --include='$(subst $() ,$(comma),$(strip $(RULE_MODULES)))'
	@echo "whole package: $$($(BIN)/coverage report --format=total) % of lines and branches"

# ruff's lint and format rules (pyproject.toml), then the layers' import contracts (setup.cfg).
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

bench: system-packages test-packages $(VENV)/.installed catalogs
	$(BIN)/python bench/run.py --out bench/results.json

# Mutation testing (mutmut; setup.cfg [mutmut] names the modules and their fast tests). It runs in a copy of
# the tree, var/mutation/, where appliance/ is a real folder, so each module's path is its import name.
# MUTANTS: the rules' functions (mutmut's names, globs); in device_sync and the dispenser only the outbox's
# confirmation and the voiding of a number (device_sync's _upload is left out: each of its mutants waits
# out the sync tests' timeouts, half a minute). The score goes to var/mutation/score.txt (README: Tests).
# The tests' files are on a RAM disk (each SQLite commit's fsync costs milliseconds on a real one), and
# tests/mutation/mutation_order.py, a pytest plugin, runs each mutant's fastest tests first.
MUTATION_DIR := var/mutation
MUTATION_TMP := $(firstword $(wildcard /dev/shm) /tmp)/entrance-appliance-mutation
MUTANTS ?= 'appliance.domain.numbering.*' 'appliance.domain.checkin.*' 'appliance.domain.codes.*' \
  'appliance.domain.state.*' 'appliance.domain.office.*' 'appliance.domain.journal.*' \
  'appliance.domain.config.types.x*Secret*' 'appliance.printer.status.*' \
  'appliance.sync.wire.x*OutboxEncoder*' 'appliance.sync.wire.x__protocol_body*' 'appliance.sync.wire.x_check_day*' \
  'appliance.sync.wire.x_appointments_of*' 'appliance.sync.wire.x_merge_changes*' \
  'appliance.sync.device_sync.x__confirmed*' 'appliance.sync.device_sync.x*_mark_*' \
  'appliance.drivers.dispenser.x*_serve_*' \
  'appliance.drivers.dispenser.x*_check_printer_*'
mutants: $(VENV)/.installed catalogs
	rm -rf $(MUTATION_DIR) && mkdir -p $(MUTATION_DIR)
	cp -rL appliance $(MUTATION_DIR)/appliance
	cp -r backend/entrance_backend tests config setup.cfg pyproject.toml $(MUTATION_DIR)/
	find $(MUTATION_DIR) -name __pycache__ -prune -exec rm -rf {} +
	rm -rf $(MUTATION_TMP) && mkdir -p $(MUTATION_TMP)
	cd $(MUTATION_DIR) && date +%s > started && TMPDIR=$(MUTATION_TMP) PYTHONPATH=$(CURDIR)/tests/mutation \
	  $(CURDIR)/$(BIN)/mutmut run --max-children 2 $(MUTANTS) > run.log 2>&1; \
	  status=$$?; echo "$$(( ($$(date +%s) - $$(cat started)) / 60 )) minutes" > minutes; exit $$status
	rm -rf $(MUTATION_TMP)
	cd $(MUTATION_DIR) && $(CURDIR)/$(BIN)/mutmut results --all true | tr -d ' ' \
	  | awk -F: '$$2 != "notchecked" {split($$1, name, ".x"); m = name[1]; n[$$2]++; all++; \
	      run[m]++; if ($$2 == "killed" || $$2 == "timeout") killed[m]++} \
	    END {for (m in run) printf "%s %.1f %% (%d of %d)\n", m, 100 * killed[m] / run[m], killed[m], run[m]; \
	      for (k in n) print k, n[k]; \
	      printf "score %.1f %% (%d of %d killed or timed out)\n", 100 * (n["killed"] + n["timeout"]) / all, \
	      n["killed"] + n["timeout"], all}' | sort | tee score.txt
	cat $(MUTATION_DIR)/minutes | tee -a $(MUTATION_DIR)/score.txt

# On the Pi, as root: the daemon in /opt, its user, its unit; an existing config is kept.
PREFIX ?= /opt/entrance-appliance
# The device's roles (its config's, else the example config's: kiosk and monitor) decide the display's libraries.
ROLES ?= $(or $(shell sed -n 's/^roles *= *//p' /etc/entrance-appliance/appliance.conf 2>/dev/null),monitor)
install: system-packages
	tools/debian-packages install $(BUILD_DEBIAN_PACKAGES) $(if $(findstring monitor,$(ROLES)),$(MONITOR_DEBIAN_PACKAGES))
	test -x $(PREFIX)/venv/bin/python || $(PYTHON) -m venv $(VENV_FLAGS) $(PREFIX)/venv
	$(PREFIX)/venv/bin/python -m pip install -q 'babel>=2.14'
	$(MAKE) catalogs PYBABEL=$(PREFIX)/venv/bin/pybabel
	$(PREFIX)/venv/bin/python -m pip install -q --upgrade .
	install -m 0644 systemd/entrance-appliance.sysusers /usr/lib/sysusers.d/entrance-appliance.conf
	systemd-sysusers entrance-appliance.conf
	install -m 0644 systemd/entrance-appliance.service /etc/systemd/system/entrance-appliance.service
	install -m 0644 systemd/entrance-appliance-monitor.service /etc/systemd/system/entrance-appliance-monitor.service
	install -m 0644 systemd/60-entrance-appliance-printer.rules /etc/udev/rules.d/60-entrance-appliance-printer.rules
	-udevadm control --reload && udevadm trigger --subsystem-match=usb
	install -d -m 0755 /etc/entrance-appliance /etc/entrance-appliance/conf.d
	test -e /etc/entrance-appliance/appliance.conf || install -m 0644 config/kiosk-monitor.conf /etc/entrance-appliance/appliance.conf
	systemctl daemon-reload
	@echo "Now edit /etc/entrance-appliance/appliance.conf, run '$(PREFIX)/venv/bin/entrance-appliance check-config',"
	@echo "then 'systemctl enable --now entrance-appliance' (and entrance-appliance-monitor on a device with a screen)."

# The offline installation bundle for a Pi: dist/entrance-appliance-<version>-arm64.tar.gz (tools/bundle;
# as root: it builds evdev in an emulated arm64 Debian). tools/arm64-check tries it on an emulated Pi.
bundle: $(VENV)/.installed catalogs
	DEBIAN_PACKAGES="$(filter-out python3-lgpio?,$(DEBIAN_PACKAGES)) python3-venv python3-lgpio?" \
	  MONITOR_DEBIAN_PACKAGES="$(MONITOR_DEBIAN_PACKAGES)" tools/bundle

# Visitors' words: German in appliance/domain/wording.py (the source), every other language in a gettext
# catalog, compiled here (Babel's pybabel) so that no .mo is ever out of step with its .po. The reference
# backend's public pages have their own (backend/entrance_backend/wording.py, its locale/): it shares only
# the protocol with the devices.
LOCALE := appliance/domain/locale
BACKEND_LOCALE := backend/entrance_backend/locale
PYBABEL ?= $(BIN)/pybabel
catalogs: $(patsubst %.po,%.mo,$(wildcard $(LOCALE)/*/LC_MESSAGES/appliance.po \
                                          $(BACKEND_LOCALE)/*/LC_MESSAGES/entrance_backend.po))

$(LOCALE)/%/LC_MESSAGES/appliance.mo: $(LOCALE)/%/LC_MESSAGES/appliance.po | $(PYBABEL)
	$(PYBABEL) -q compile -l $* -i $< -o $@

$(BACKEND_LOCALE)/%/LC_MESSAGES/entrance_backend.mo: $(BACKEND_LOCALE)/%/LC_MESSAGES/entrance_backend.po | $(PYBABEL)
	$(PYBABEL) -q compile -l $* -i $< -o $@

$(BIN)/pybabel: $(VENV)/.installed

# After adding or changing a text in a wording.py: the templates anew, then every catalog (translate what
# is new there; tests/domain/test_catalogs.py and tests/backend/test_page_catalogs.py name what is missing).
EXTRACT := $(BIN)/pybabel -q extract --no-default-keywords -k N_:1c,2 -k NP_:1c,2,3 --no-location --project entrance-appliance
UPDATE := $(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete
catalogs-update: $(VENV)/.installed
	$(EXTRACT) -o $(LOCALE)/appliance.pot appliance/domain/wording.py
	$(UPDATE) -D appliance -d $(LOCALE) -i $(LOCALE)/appliance.pot
	$(EXTRACT) -o $(BACKEND_LOCALE)/entrance_backend.pot backend/entrance_backend/wording.py
	$(UPDATE) -D entrance_backend -d $(BACKEND_LOCALE) -i $(BACKEND_LOCALE)/entrance_backend.pot

system-packages:
	tools/debian-packages install $(DEBIAN_PACKAGES) $(VENV_DEBIAN_PACKAGES)

# And what the bundle's install.sh asks for on a monitor: tests/tools/test_bundle_install.py runs it offline, where
# apt could fetch nothing (the display's libraries, and Debian's venv module for the system's python3).
test-packages:
	tools/debian-packages install $(TEST_DEBIAN_PACKAGES) $(MONITOR_DEBIAN_PACKAGES) python3-venv

# The demo and the tests also run the reference backend (backend/, a program of its own);
# `make install` puts only the device's package on a Pi.
$(VENV)/.installed: setup.cfg pyproject.toml backend/setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --only-binary=evdev -e '.[test]' -e ./backend 2>/dev/null || { \
	  echo "No evdev wheel for this Python: building it from source"; \
	  tools/debian-packages install $(BUILD_DEBIAN_PACKAGES) && $(BIN)/python -m pip install -q -e '.[test]' -e ./backend; }
	touch $@

clean:
	rm -rf $(VENV) var demo-out dist *.egg-info
