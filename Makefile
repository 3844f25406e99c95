# The README's two commands, `make demo` and `make test`, do all set-up on a fresh Debian or
# Raspberry Pi OS machine: Debian packages (when missing), then .venv with the Python packages.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the appliance and its tests use; each is installed only when missing.
#   systemd: systemd-analyze, which the tests use to verify and rate the unit files
#   tzdata: local time zones for day-bound numbering
#   libusb-1.0-0: USB printers through pyusb
#   fonts-dejavu-core: the monitor's and the printer emulator's typeface
#   espeak-ng: offline spoken announcements
#   libzbar0: QR decoding (pyzbar)
#   tesseract-ocr: the tests read the monitor's numbers back from its pixels
#   gcc, python3-dev, linux-libc-dev: python-evdev is built from source (PyPI ships no wheel)
DEBIAN_PACKAGES := systemd tzdata libusb-1.0-0 fonts-dejavu-core espeak-ng libzbar0 tesseract-ocr \
                   gcc python3-dev linux-libc-dev
DEMO_ARGS ?= --minutes 120
# On a Pi the venv also sees Debian's python3-lgpio (gpiozero's pin library; no PyPI wheel for 3.13).
VENV_FLAGS := $(if $(filter aarch64,$(shell uname -m)),--system-site-packages,)

.PHONY: demo test lint bench install system-packages clean

demo: system-packages $(VENV)/.installed
	$(BIN)/entrance-appliance demo $(DEMO_ARGS)

test: system-packages $(VENV)/.installed lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff's lint and format rules (pyproject.toml), then the layers' import contracts (setup.cfg).
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

bench: system-packages $(VENV)/.installed
	$(BIN)/python bench/run.py --out bench/results.json

# On the Pi, as root: the daemon in /opt, its user, its unit; an existing config is kept.
PREFIX ?= /opt/entrance-appliance
install: system-packages
	test -x $(PREFIX)/venv/bin/python || $(PYTHON) -m venv $(VENV_FLAGS) $(PREFIX)/venv
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
