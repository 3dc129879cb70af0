#!/bin/sh
# Vendor the front-end packages this project uses from the npm registry (`make vendor`).
# The app never fetches them at run time: the generated files are committed.
#   - @digital-go-jp/design-tokens (デジタル庁デザインシステム, MIT): colours, type scale,
#     radii and elevation as CSS custom properties -> src/furusato_cms/static/vendor/design-tokens/
#   - axe-core (MPL-2.0): the accessibility engine the browser tests inject -> tests/browser/vendor/
# Needs npm (Debian's `npm` package). Versions are pinned here; bump them on purpose.
set -eu
TOKENS_VERSION=1.1.9
AXE_VERSION=4.14.1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "@digital-go-jp/design-tokens@$TOKENS_VERSION" "axe-core@$AXE_VERSION" >/dev/null
mkdir tokens axe
tar xzf "digital-go-jp-design-tokens-$TOKENS_VERSION.tgz" -C tokens
tar xzf "axe-core-$AXE_VERSION.tgz" -C axe

OUT="$ROOT/src/furusato_cms/static/vendor/design-tokens"
mkdir -p "$OUT"
{
  echo "/* @digital-go-jp/design-tokens $TOKENS_VERSION (MIT, see LICENSE beside this file),"
  echo "   vendored by tools/vendor-assets.sh: do not edit, run \`make vendor\`. */"
  cat tokens/package/dist/tokens.css
} > "$OUT/tokens.css"
cp tokens/package/LICENSE "$OUT/LICENSE"

AXE_OUT="$ROOT/tests/browser/vendor"
mkdir -p "$AXE_OUT"
cp axe/package/axe.min.js "$AXE_OUT/axe.min.js"
cp axe/package/LICENSE "$AXE_OUT/axe-core-LICENSE"
echo "$AXE_VERSION" > "$AXE_OUT/axe-core-VERSION"
echo "vendored design-tokens $TOKENS_VERSION and axe-core $AXE_VERSION"
