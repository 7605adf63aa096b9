#!/usr/bin/env bash
# System packages the tests need beyond PyPI: memcached (the shared cache backend's contract tests run
# against a real server, which the tests start themselves on a free port), and documents this project did not
# write, shipped in Debian packages, which the document tests push through the whole pipeline
# (tests/e2e/test_real_documents.py); LibreOffice without its GUI, which converts Word, Excel and PowerPoint
# uploads (tests/e2e/test_office_documents.py); Chromium, which the browser tests (tests/browser) drive with
# Playwright, and npm, which installs the web client's OpenSeadragon (web/package-lock.json). Installs with apt
# when missing.
set -euo pipefail
missing=()
command -v memcached >/dev/null 2>&1 || missing+=(memcached)
[[ -f /usr/share/doc/libtasn1-doc/libtasn1.pdf ]] || missing+=(libtasn1-doc)
[[ -f /usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf ]] || missing+=(shared-mime-info)
[[ -f /usr/share/doc/ghostscript/GS9_Color_Management.pdf ]] || missing+=(ghostscript-doc)
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# A C compiler for Kalexo's pixel kernels (layers/native.py), for this machine and for arm64 (the imaging layer
# the deploy rehearsal builds: the stages deploy arm64).
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
# qemu-user runs the arm64 build of those kernels in a test (tests/unit/test_pixel_kernels_arm64.py).
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
# libmagic: python-magic, which the IIIF validator (requirements-dev.txt) imports.
compgen -G '/usr/lib/*/libmagic.so.1' >/dev/null || compgen -G '/usr/lib/libmagic.so.1' >/dev/null || missing+=(libmagic1)
((${#missing[@]})) || exit 0
if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
  echo "Please install: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
SUDO=$([[ $(id -u) -eq 0 ]] && echo "" || echo sudo)
echo "Installing ${missing[*]} with apt-get"
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
