# The README's two commands, `make demo` and `make test`, do all set-up on a fresh Debian or
# Raspberry Pi OS machine: Debian packages (when missing), then .venv with the Python packages.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the appliance and its tests use; each is installed only when missing.
#   systemd: systemd-analyze, which the tests use to verify and rate the unit files
#   tzdata: local time zones for day-bound numbering
#   libusb-1.0-0: USB printers through pyusb
#   fonts-dejavu-core: the screens' and the tickets' typeface (Latin, Cyrillic, Arabic and Farsi)
#   libfribidi0: Pillow's raqm orders Arabic and Farsi right to left for the tickets' printed lines
#   espeak-ng: offline spoken announcements
#   libzbar0: QR decoding (pyzbar)
#   tesseract-ocr: the tests read the monitor's numbers back from its pixels
#   tesseract-ocr-ara, -fas, -rus, -tur, -ukr: ... and each shipped language's words
#   gcc, python3-dev, linux-libc-dev: python-evdev is built from source (PyPI ships no wheel)
#   chromium, chromium-driver: the tests drive the backend's counter and wait pages in a real browser
#   postgresql: the backend's tests run on a real PostgreSQL server too
DEBIAN_PACKAGES := systemd tzdata libusb-1.0-0 fonts-dejavu-core libfribidi0 espeak-ng libzbar0 tesseract-ocr \
                   tesseract-ocr-ara tesseract-ocr-fas tesseract-ocr-rus tesseract-ocr-tur tesseract-ocr-ukr \
                   gcc python3-dev linux-libc-dev chromium chromium-driver libfaketime postgresql
DEMO_ARGS ?= --minutes 120
# On a Pi the venv also sees Debian's python3-lgpio (gpiozero's pin library; no PyPI wheel for 3.13).
VENV_FLAGS := $(if $(filter aarch64,$(shell uname -m)),--system-site-packages,)

.PHONY: demo test test-fast coverage lint bench mutants install system-packages catalogs catalogs-update clean

demo: system-packages $(VENV)/.installed catalogs
	$(BIN)/entrance-appliance demo $(DEMO_ARGS)

# The whole suite on both cores (pytest-xdist; a file's tests stay on one worker), measuring branch coverage;
# then the rule modules' coverage (README: Tests says what they leave out and why) and the whole package's.
test: system-packages $(VENV)/.installed catalogs lint
	$(BIN)/python -m pytest -n 2 --dist loadfile --cov --cov-report=html:var/coverage $(PYTEST_ARGS)
	$(MAKE) --no-print-directory coverage

# The unit layer, no backend, daemon or screen: under a minute, for running after every change.
test-fast: $(VENV)/.installed catalogs
	$(BIN)/python -m pytest -n 2 -m "not slow" $(FAST_TESTS) $(PYTEST_ARGS)
FAST_TESTS := tests/domain tests/printer tests/drivers tests/sync/test_wire.py

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

bench: system-packages $(VENV)/.installed catalogs
	$(BIN)/python bench/run.py --out bench/results.json

# Mutation testing (mutmut; setup.cfg [mutmut] names the modules and their fast tests). It runs in a copy of
# the tree, var/mutation/, where appliance/ is a real folder, so each module's path is its import name.
# MUTANTS: the rules' functions (mutmut's names, globs); in device_sync and the dispenser only the outbox's
# confirmation and the voiding of a number (device_sync's _upload is left out: each of its mutants waits
# out the sync tests' timeouts, half a minute). The score goes to var/mutation/score.txt (README: Tests).
MUTATION_DIR := var/mutation
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
	cd $(MUTATION_DIR) && $(CURDIR)/$(BIN)/mutmut run --max-children 2 $(MUTANTS) > run.log 2>&1
	cd $(MUTATION_DIR) && $(CURDIR)/$(BIN)/mutmut results --all true | tr -d ' ' \
	  | awk -F: '$$2 != "notchecked" {n[$$2]++; all++} END {for (k in n) print k, n[k]; \
	    printf "score %.1f %% (%d of %d killed or timed out)\n", 100 * (n["killed"] + n["timeout"]) / all, \
	    n["killed"] + n["timeout"], all}' | tee score.txt

# On the Pi, as root: the daemon in /opt, its user, its unit; an existing config is kept.
PREFIX ?= /opt/entrance-appliance
install: system-packages
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

# Visitors' words: German in appliance/domain/wording.py (the source), every other language in a gettext
# catalog, compiled here (Babel's pybabel) so that no .mo is ever out of step with its .po.
LOCALE := appliance/domain/locale
PYBABEL ?= $(BIN)/pybabel
catalogs: $(patsubst %.po,%.mo,$(wildcard $(LOCALE)/*/LC_MESSAGES/appliance.po))

$(LOCALE)/%/LC_MESSAGES/appliance.mo: $(LOCALE)/%/LC_MESSAGES/appliance.po | $(PYBABEL)
	$(PYBABEL) -q compile -l $* -i $< -o $@

$(BIN)/pybabel: $(VENV)/.installed

# After adding or changing a text in wording.py: the template anew, then every catalog (translate what
# is new there; tests/domain/test_catalogs.py names what is missing).
catalogs-update: $(VENV)/.installed
	$(BIN)/pybabel -q extract --no-default-keywords -k N_:1c,2 -k NP_:1c,2,3 --no-location \
	  --project entrance-appliance -o $(LOCALE)/appliance.pot appliance/domain/wording.py
	$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete -D appliance -d $(LOCALE) -i $(LOCALE)/appliance.pot

# Installs what dpkg does not list as installed; as root directly, otherwise through sudo.
system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then missing="$$missing python3-venv"; fi; \
	if [ "$$(uname -m)" = aarch64 ] && ! dpkg-query -W -f='$${Status}' python3-lgpio 2>/dev/null | grep -q 'ok installed'; then \
	  missing="$$missing python3-lgpio"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$missing; \
	fi

# The demo and the tests also run the reference backend (backend/, a program of its own);
# `make install` puts only the device's package on a Pi.
$(VENV)/.installed: setup.cfg pyproject.toml backend/setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]' -e ./backend
	touch $@

clean:
	rm -rf $(VENV) var demo-out *.egg-info
