#!/usr/bin/env bash
# Re-vendor MathJax for the offline book (maintainers only; the result is committed).
#
# The book loads MathJax from book/_vendor/mathjax/ (copied to _build/html/mathjax/ by
# html_extra_path; mathjax_path in _config.yml points at it), so the rendered book shows math
# with no network. We keep only what the tex-mml-chtml component needs at run time:
#   es5/tex-mml-chtml.js                   the component itself
#   es5/output/chtml/fonts/woff-v2/*.woff  its fonts
#   es5/input/tex/extensions/*.js          the TeX packages it autoloads (\boldsymbol, \cancel, ...)
# Usage: tools/vendor_mathjax.sh [version]     (default 3.2.2; needs npm and network)
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${1:-3.2.2}"
DEST=book/_vendor/mathjax
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

( cd "$TMP" && npm pack --silent "mathjax@${VERSION}" >/dev/null && tar xzf "mathjax-${VERSION}.tgz" )
SRC="$TMP/package/es5"

rm -rf "$DEST"
mkdir -p "$DEST/output/chtml/fonts/woff-v2" "$DEST/input/tex/extensions"
cp "$SRC/tex-mml-chtml.js" "$DEST/"
cp "$SRC"/output/chtml/fonts/woff-v2/*.woff "$DEST/output/chtml/fonts/woff-v2/"
# all-packages.js is only used by the tex-full components, not by autoload.
find "$SRC/input/tex/extensions" -maxdepth 1 -name '*.js' ! -name all-packages.js \
  -exec cp {} "$DEST/input/tex/extensions/" \;
cp "$TMP/package/LICENSE" "$DEST/LICENSE"
cat > "$DEST/README.md" <<README
# MathJax ${VERSION} (vendored)

From the npm package \`mathjax@${VERSION}\` (Apache-2.0, see LICENSE), refetched by
\`tools/vendor_mathjax.sh\`. Only the \`tex-mml-chtml\` component, its woff-v2 fonts and the TeX
extensions it autoloads are kept. Do not edit by hand.
README
( cd "$DEST" && find . -type f ! -name SHA256SUMS ! -name README.md | LC_ALL=C sort | xargs sha256sum > SHA256SUMS )
echo "MathJax ${VERSION}: $(find "$DEST" -type f | wc -l) files, $(du -sh "$DEST" | cut -f1) in $DEST"
