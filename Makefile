# crackbot: `make demo` (the main job) and `make test` (the whole suite) work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q --disable-pip-version-check
# make train DATA="../shared/data/ozgenel_concrete_227 ../shared/data/brickwork_crackcv"
DATA   ?=
RUN    ?= crack_classifier
EPOCHS ?=
BUNDLE ?= models/crack_classifier
CONFIG ?=
# the shipped segmenter's data: make train-segmenter SEG_DATA="dir ..."
SEG_DATA ?= ../shared/data/masonry_dais ../shared/data/deepcrack/train ../shared/data/cfd
# its second stage: the first run fine-tuned with tiles of 60 synthetic walls added, and clDice in the loss
SEG_TUNE ?= --set init=runs/crack_segmenter/best.keras --set synthetic_walls=60 --set epochs=20 \
	--set learning_rate=0.001 --set patience=8 --set loss=bce_dice_cldice

.PHONY: help setup demo test test-fast lint photo-check train convert train-segmenter convert-segmenter compile bench bundle arm64-check mosquitto chromium clean

help:
	@echo "make demo     simulated robot + shipped models + local broker + subscriber + crack map"
	@echo "make test     install everything (venv, training extras, mosquitto and chromium via apt), lint (ruff) and run the suite"
	@echo "make test-fast  the quick tier in the device venv, no TensorFlow: not slow, not tf, not integration (< 1 min)"
	@echo "make lint     ruff check . (ruff.toml)"
	@echo "make setup    build .venv with every extra and install mosquitto and chromium where possible"
	@echo "make train    train the classifier (synthetic data; DATA='dir ...' adds real folders)"
	@echo "make photo-check  the robot's code path over real photos with masks, photo by photo (out/photo_check)"
	@echo "make bench    speed and memory of the shipped models and the edge process (bench/results.json)"
	@echo "make convert  int8 TFLite bundle from runs/\$$RUN/best.keras into \$$BUNDLE"
	@echo "make train-segmenter / convert-segmenter   the shipped crack_segmenter (train/segmenter.yaml, then SEG_TUNE)"
	@echo "make compile  \$$BUNDLE as standalone C + native library in build/<name>_c, checked against LiteRT (report.json)"
	@echo "make bundle   TARGET=rpi4: dist/crackbot-<target>-<version>.tar.gz to install on a device (TARGET=mcu/esp32s3: MCU sources)"
	@echo "make arm64-check  (root) a device tarball installed and run in an emulated arm64 Debian bookworm (out/arm64/result.json)"

# The light venv: the device side and the embedded broker, no TensorFlow.
$(VENV)/.device: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e ".[device,broker]"
	touch $@

# The light venv plus the test tools (the dev extra: pytest, ruff, the .tflite reader of convert.ccode; no
# TensorFlow): what make test-fast needs.
$(VENV)/.dev: $(VENV)/.device
	$(PIP) -e ".[device,broker,dev]"
	touch $@

# Everything: training (TensorFlow), device, broker and test tools.
$(VENV)/.all: $(VENV)/.device
	$(PIP) -e ".[device,broker,monitor,train,mcu,dev,check]"
	touch $@

# $(call apt_install,PACKAGE,TEST,WITHOUT): install a Debian package where we may (as root, or by sudo without a
# password) unless TEST finds it; WITHOUT says what happens when it cannot be had.
define apt_install
	@if $(2); then :; else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
			SUDO=sudo; else SUDO=none; fi; \
		if [ "$$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1; then echo "$(1) not installed (no root): $(3)"; \
		else ($$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) \
			>/dev/null) || echo "$(1) could not be installed: $(3)"; fi; \
	fi
endef

# mosquitto where we may install it; otherwise tests and the demo use the embedded broker.
MOSQUITTO_FOUND = command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]
mosquitto:
	$(call apt_install,mosquitto,$(MOSQUITTO_FOUND),using the embedded broker)

# Headless Chromium prints the inspection report to PDF and lets its test look at it in a real browser
# (Debian's package is chromium); where it cannot be installed those tests skip and --pdf says so.
CHROMIUM_FOUND = command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	|| command -v google-chrome >/dev/null 2>&1
CHROMIUM_WITHOUT = the report's browser tests skip and --pdf writes the HTML only
chromium:
	$(call apt_install,chromium,$(CHROMIUM_FOUND),$(CHROMIUM_WITHOUT))

setup: $(VENV)/.all mosquitto chromium

demo: $(VENV)/.device
	$(PY) -m monitor.demo

test: $(VENV)/.all mosquitto chromium
	$(PY) -m ruff check .
	$(PY) -m pytest

# Markers (setup.cfg, tests/conftest.py): unit/integration, broker, tf, slow. --without-tf makes an import of
# tensorflow fail even where the full venv has it, so a test that needs it and is not marked tf shows up here.
test-fast: $(VENV)/.dev mosquitto
	$(PY) -m pytest -q -m "not slow and not tf and not integration" --without-tf

lint: $(VENV)/.dev
	$(PY) -m ruff check .

# Real photos with masks as the yardstick: found, lengths and widths photo by photo, false alarms on crack-free patches.
PHOTO_DATA ?= $(addprefix ../shared/data/,masonry_dais deepcrack/train cfd uav75/val uavcrack_bridge ceramic_tiles \
	ozgenel_concrete_227 brickwork_crackcv)
photo-check: $(VENV)/.all
	$(PY) -m edge photo-check $(foreach d,$(PHOTO_DATA),--data $(d)) --json out/photo_check/result.json --figures out/photo_check

train: $(VENV)/.all
	$(PY) -m train fit --name $(RUN) $(if $(CONFIG),--config $(CONFIG)) $(foreach d,$(DATA),--data $(d)) $(if $(EPOCHS),--epochs $(EPOCHS))

train-segmenter:
	$(MAKE) train RUN=crack_segmenter CONFIG=train/segmenter.yaml DATA="$(SEG_DATA)"
	$(PY) -m train fit --config train/segmenter.yaml --name crack_segmenter_walls $(foreach d,$(SEG_DATA),--data $(d)) $(SEG_TUNE)

convert-segmenter:
	$(MAKE) convert RUN=crack_segmenter_walls BUNDLE=models/crack_segmenter DATA=

convert: $(VENV)/.all
	$(PY) -m convert --model runs/$(RUN)/best.keras --out $(BUNDLE) --name $(notdir $(BUNDLE)) $(foreach d,$(DATA),--data $(d))

# deepC-style compile: the int8 model as C99, built into a library and a program, verified against
# LiteRT on synthetic patches (and DATA folders); MARCH_NATIVE=1 builds for this CPU only.
compile: $(VENV)/.all
	$(PY) -m convert.ccode --model $(BUNDLE) --out build/$(notdir $(BUNDLE))_c $(if $(MARCH_NATIVE),--march-native) $(foreach d,$(DATA),--data $(d))

# Speed and memory on this machine, in one run: prints a table, writes bench/results.json.
bench: $(VENV)/.all mosquitto
	$(PY) -m bench

# Device tarball: edge package, requirements, the firmware config, its models, install.sh, systemd unit.
bundle: $(VENV)/.device
	@test -n "$(TARGET)" || { echo "usage: make bundle TARGET=<firmware config>, e.g. rpi4, desktop_sim, mcu/esp32s3"; exit 2; }
	$(PY) -m convert.package --target $(TARGET) --out dist

# The device tarball installed by its install.sh into an arm64 Debian bookworm (debootstrap, run under
# qemu-user), then the robot run there on a folder of frames against a broker and subscriber on this machine.
# Needs root; the root is kept in out/arm64-root for the next run. Not part of make test (see the README).
arm64-check: $(VENV)/.device mosquitto
	$(PY) -m convert.arm64_check --root out/arm64-root --out out/arm64

clean:
	rm -rf out runs build *.egg-info
