#!/bin/sh
# Install the crackbot edge runtime for target @TARGET@ (version @VERSION@) from this unpacked package.
#
#   ./install.sh [--prefix DIR] [--user NAME] [--system-site-packages | --no-system-site-packages]
#                [--legacy-runtime] [--pip-args "ARGS"] [--python PYTHON] [--no-apt] [--no-service]
#
# Makes DIR/venv (no TensorFlow: LiteRT runs the models), installs the edge package and the device
# requirements into it, copies the firmware config and the model bundles, checks both, writes
# DIR/bin/crackbot-edge and the systemd unit, and enables the unit when run as root with systemd.
#   --system-site-packages  let the venv see apt's Python packages (picamera2 on a Pi, the JetPack
#                           OpenCV with GStreamer on a Jetson); the default for this target: @SYSTEM_SITE@
#   --legacy-runtime        tflite-runtime instead of ai-edge-litert (systems that must keep numpy<2)
#   --pip-args "ARGS"       passed to every pip install, e.g. "--no-index --find-links /media/wheels"
#   --no-service            do not install or enable the systemd unit (it is still written to DIR)
set -eu

TARGET="@TARGET@"
VERSION="@VERSION@"
APT_PACKAGES="@APT_PACKAGES@"
MODEL_SETS="@MODEL_SETS@"
PREFIX=/opt/crackbot
SERVICE_USER="${SUDO_USER:-$(id -un)}"
SYSTEM_SITE=@SYSTEM_SITE@
LEGACY=0
PIP_ARGS=""
PYTHON=python3
APT=1
SERVICE=1
HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "error: $*" >&2; exit 2; }
need_value() { [ $# -ge 2 ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) need_value "$@"; PREFIX=$2; shift 2 ;;
    --user) need_value "$@"; SERVICE_USER=$2; shift 2 ;;
    --system-site-packages) SYSTEM_SITE=1; shift ;;
    --no-system-site-packages) SYSTEM_SITE=0; shift ;;
    --legacy-runtime) LEGACY=1; shift ;;
    --pip-args) need_value "$@"; PIP_ARGS=$2; shift 2 ;;
    --python) need_value "$@"; PYTHON=$2; shift 2 ;;
    --no-apt) APT=0; shift ;;
    --no-service) SERVICE=0; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.9 or newer"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' || die "$PYTHON is older than 3.9"
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || die "$PYTHON cannot make venvs: apt-get install python3-venv"
mkdir -p "$PREFIX" || die "cannot create $PREFIX (run as root for /opt, or give --prefix)"
PREFIX=$(cd "$PREFIX" && pwd)
case "$PREFIX" in *[[:space:]]*) die "the prefix must not contain spaces: $PREFIX" ;; esac

# System packages the target needs from apt (camera stacks built against the system Python).
if [ -n "$APT_PACKAGES" ] && [ "$APT" = 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "apt: $APT_PACKAGES"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $APT_PACKAGES || die "apt-get install $APT_PACKAGES failed"
  else
    echo "note: install these with apt as root first: $APT_PACKAGES (or pass --no-apt)"
  fi
fi

echo "venv: $PREFIX/venv (system site packages: $SYSTEM_SITE)"
if [ "$SYSTEM_SITE" = 1 ]; then
  "$PYTHON" -m venv --system-site-packages "$PREFIX/venv"
else
  "$PYTHON" -m venv "$PREFIX/venv"
fi
PY="$PREFIX/venv/bin/python"
REQUIREMENTS="$HERE/requirements.txt"
[ "$LEGACY" = 1 ] && REQUIREMENTS="$HERE/requirements-legacy.txt"
# shellcheck disable=SC2086
"$PY" -m pip install -q --disable-pip-version-check $PIP_ARGS -r "$REQUIREMENTS" || die "pip could not install $REQUIREMENTS"
# shellcheck disable=SC2086
"$PY" -m pip install -q --disable-pip-version-check $PIP_ARGS "$HERE/src" || die "pip could not install the edge package"

echo "config and models: $PREFIX/config/$TARGET.yaml, $PREFIX/models/"
mkdir -p "$PREFIX/config" "$PREFIX/models" "$PREFIX/bin"
cp "$HERE/config/$TARGET.yaml" "$PREFIX/config/$TARGET.yaml"
cp "$HERE/INSTALL.md" "$PREFIX/INSTALL.md"
for bundle in "$HERE"/models/*/; do
  [ -d "$bundle" ] || continue
  rm -rf "$PREFIX/models/$(basename "$bundle")"
  cp -R "$bundle" "$PREFIX/models/"
done

# The config names model folders as they are in the repository; point them at the installed copies.
SETS=""
for item in $MODEL_SETS; do
  key=${item%%=*}
  SETS="$SETS --set $key=$PREFIX/models/${item#*=}"
done
cat > "$PREFIX/bin/crackbot-edge" <<EOF
#!/bin/sh
# crackbot edge for $TARGET, version $VERSION; extra arguments go to \`python -m edge run\`.
cd "$PREFIX" || exit 1
exec "$PY" -m edge run --config "$PREFIX/config/$TARGET.yaml"$SETS "\$@"
EOF
chmod 755 "$PREFIX/bin/crackbot-edge"

# Refuse an install that cannot start: a config that does not validate, a bundle whose sha256 is off.
# shellcheck disable=SC2086
(cd "$PREFIX" && "$PY" -m edge check-config "$PREFIX/config/$TARGET.yaml"$SETS) || die "the installed config does not validate"
for bundle in "$PREFIX"/models/*/; do
  [ -d "$bundle" ] || continue
  "$PY" -c 'import sys; from edge.models.bundle import load_bundle; load_bundle(sys.argv[1])' "$bundle" \
    || die "model bundle $bundle does not check out"
done

sed -e "s|{{PREFIX}}|$PREFIX|g" -e "s|{{USER}}|$SERVICE_USER|g" -e "s|{{TARGET}}|$TARGET|g" \
  "$HERE/crackbot.service" > "$PREFIX/crackbot.service"
if [ "$SERVICE" = 1 ] && [ "$(id -u)" = 0 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  cp "$PREFIX/crackbot.service" /etc/systemd/system/crackbot.service
  systemctl daemon-reload
  systemctl enable crackbot.service
  echo "service: enabled; start it with: systemctl start crackbot"
else
  echo "service: unit written to $PREFIX/crackbot.service (as root: cp it to /etc/systemd/system/ and systemctl enable --now crackbot)"
fi
echo "installed crackbot $VERSION for $TARGET in $PREFIX; run: $PREFIX/bin/crackbot-edge [--max-frames N]"
