"""Stage the front-end files the site serves itself (no CDN at view time).

Usage:  python tools/stage_assets.py STAGING_DIR   (the Makefile: _build/site_assets)

Copies, from ``node_modules`` (installed by ``npm ci`` from package.json + package-lock.json),
only what a page loads, into ``STAGING_DIR/vendor/``; ``_config.yml`` serves STAGING_DIR
through Sphinx's ``html_extra_path``, so the files land at ``<site>/vendor/...``:

* ``vendor/mathjax/tex-chtml-full.js``: MathJax 3's single-file TeX -> CommonHTML bundle with
  every TeX extension built in (so nothing is autoloaded), plus the fonts it requests,
  ``output/chtml/fonts/woff-v2/*.woff``, at the same path relative to the script as in the
  npm package (MathJax finds them relative to its own URL). ``mathjax_path`` points here.
* ``vendor/html-manager/embed.js``: ``@jupyter-widgets/html-manager``'s standalone embedder
  (no RequireJS) plus the ``.woff2`` icon fonts it requests. webpack resolves those as
  ``<directory of embed.js>/<hash>.woff2``; the names are read from embed.js itself, so a
  different release cannot silently lose its fonts. ``nb_ipywidgets_js`` points here.
* ``favicon.ico`` (site root), drawn with Pillow from the paths of ``book/_static/logo.svg``
  (the one logo source): pages link ``_static/logo.svg`` as their icon, but the root
  ``index.html`` redirect page has no link, so browsers ask for ``/favicon.ico``.
* licence texts (MathJax's LICENSE; html-manager ships embed.js.LICENSE.txt).

Nothing is rewritten when ``STAGING_DIR/.staged`` already records the same fingerprint (locked
package versions, this script, the logo), so an unchanged ``make book`` stays fast and the
Makefile can compare that file's mtime to know when the built pages must be rewritten (Sphinx
copies ``html_extra_path`` only when some page is rebuilt).
Only ``STAGING_DIR/vendor`` and ``STAGING_DIR/favicon.ico`` are replaced (atomically: built beside it, then renamed), so other
files a build step puts into STAGING_DIR (e.g. downloads) are left alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUBDIR = "vendor"
MATHJAX = "mathjax"
HTML_MANAGER = "@jupyter-widgets/html-manager"
MATHJAX_BUNDLE = "tex-chtml-full.js"
MATHJAX_FONTS = "output/chtml/fonts/woff-v2"
# webpack asset modules in embed.js look like:  e.exports=n.p+"d878b0a6a1144760244f.woff2"
WEBPACK_FONT = re.compile(r'\.p\+"([0-9a-f]{8,}\.woff2)"')
LOGO = REPO / "book" / "_static" / "logo.svg"
FAVICON_SIZES = [(16, 16), (32, 32), (48, 48)]


class StageError(RuntimeError):
    """A required file is missing or has the wrong version."""


def locked_version(repo: Path, package: str) -> str:
    """The exact version package-lock.json pins for ``package``."""
    lock = json.loads((repo / "package-lock.json").read_text(encoding="utf-8"))
    try:
        return lock["packages"][f"node_modules/{package}"]["version"]
    except KeyError:
        raise StageError(f"package-lock.json does not list {package}; run `npm install {package}`") from None


def package_dir(node_modules: Path, repo: Path, package: str) -> Path:
    """Installed package folder, checked against the lock file's version."""
    folder = node_modules / package
    manifest = folder / "package.json"
    if not manifest.is_file():
        raise StageError(f"{package} is not installed in {node_modules}: run `npm ci` in {repo} (or `make assets`)")
    installed = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    wanted = locked_version(repo, package)
    if installed != wanted:
        raise StageError(f"{package} {installed} is installed but package-lock.json pins {wanted}: run `npm ci`")
    return folder


def _copy(src: Path, dst: Path, copied: list) -> None:
    if not src.is_file():
        raise StageError(f"missing file {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    copied.append(dst)


def widget_fonts(embed_js: Path) -> list:
    """File names of the fonts embed.js requests (relative to its own folder)."""
    names = sorted(set(WEBPACK_FONT.findall(embed_js.read_text(encoding="utf-8"))))
    if not names:
        raise StageError(f"found no .woff2 font reference in {embed_js}; has its build changed?")
    return names


def _svg_polylines(svg_text: str, samples: int = 24):
    """(stroke colour, width, [points]) for every ``<path>`` of the logo; only the absolute
    M/L/C commands the logo uses are understood (anything else is a clear error)."""
    paths = []
    for attrs in re.findall(r"<path\b([^>]*)>", svg_text, flags=re.S):

        def get(name, attrs=attrs):
            return (re.search(rf'\b{name}="([^"]*)"', attrs) or [None, None])[1]

        tokens = re.findall(r"[A-Za-z]|-?[0-9.]+", get("d") or "")
        points, pos, i, cmd = [], (0.0, 0.0), 0, None
        while i < len(tokens):
            if tokens[i].isalpha():
                cmd = tokens[i]
                i += 1
                if cmd not in "MLC":
                    raise StageError(f"{LOGO}: path command {cmd!r} not supported for the favicon")
            n = 6 if cmd == "C" else 2
            nums = [float(t) for t in tokens[i : i + n]]
            i += n
            if cmd in "ML":
                pos = (nums[0], nums[1])
                points.append(pos)
            else:
                (x0, y0), (x1, y1, x2, y2, x3, y3) = pos, nums
                for k in range(1, samples + 1):
                    t = k / samples
                    a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
                    points.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
                pos = (x3, y3)
        paths.append((get("stroke") or "#000000", float(get("stroke-width") or 1), points))
    if not paths:
        raise StageError(f"no <path> in {LOGO}")
    return paths


def write_favicon(logo: Path, out: Path) -> None:
    """Draw the strokes of the logo's ``<path>`` elements (fitted into a square, transparent
    ground; the dashed threshold line and the dot are left out at icon size) as an .ico."""
    from PIL import Image, ImageDraw

    text = logo.read_text(encoding="utf-8")
    x0, y0, w, h = (float(v) for v in re.search(r'viewBox="([^"]+)"', text).group(1).split())
    size = 192  # draw large, let Pillow downscale to each icon size
    scale = size / max(w, h)
    dy = (size - h * scale) / 2
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for colour, width, points in _svg_polylines(text):
        xy = [((x - x0) * scale, (y - y0) * scale + dy) for x, y in points]
        draw.line(xy, fill=colour, width=max(2, round(width * scale * 1.6)), joint="curve")
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="ICO", sizes=FAVICON_SIZES)


FINGERPRINT_FILE = ".staged"


def fingerprint(repo: Path) -> str:
    """Hash of everything the staged files depend on."""
    digest = hashlib.sha256()
    for package in (MATHJAX, HTML_MANAGER):
        digest.update(f"{package}@{locked_version(repo, package)}\n".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update((repo / LOGO.relative_to(REPO)).read_bytes())
    return digest.hexdigest()


def stage(staging: Path, node_modules: Path, repo: Path = REPO) -> list:
    """Copy the assets into ``staging/vendor``; return the copied paths ([] if up to date)."""
    mathjax = package_dir(node_modules, repo, MATHJAX)
    manager = package_dir(node_modules, repo, HTML_MANAGER)
    stamp = staging / FINGERPRINT_FILE
    wanted = fingerprint(repo)
    if (
        stamp.is_file()
        and stamp.read_text().strip() == wanted
        and (staging / SUBDIR).is_dir()
        and (staging / "favicon.ico").is_file()
    ):
        return []

    staging.mkdir(parents=True, exist_ok=True)
    target = staging / SUBDIR
    tmp = staging / f".{SUBDIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    copied: list = []

    out = tmp / "mathjax"
    es5 = mathjax / "es5"
    _copy(es5 / MATHJAX_BUNDLE, out / MATHJAX_BUNDLE, copied)
    fonts = sorted((es5 / MATHJAX_FONTS).glob("*.woff"))
    if not fonts:
        raise StageError(f"no MathJax fonts in {es5 / MATHJAX_FONTS}")
    for font in fonts:
        _copy(font, out / MATHJAX_FONTS / font.name, copied)
    _copy(mathjax / "LICENSE", out / "LICENSE", copied)

    out = tmp / "html-manager"
    dist = manager / "dist"
    _copy(dist / "embed.js", out / "embed.js", copied)
    _copy(dist / "embed.js.LICENSE.txt", out / "embed.js.LICENSE.txt", copied)
    for name in widget_fonts(dist / "embed.js"):
        _copy(dist / name, out / name, copied)

    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    favicon = staging / "favicon.ico"
    write_favicon(repo / LOGO.relative_to(REPO), favicon)
    stamp.write_text(wanted + "\n")
    return [target / p.relative_to(tmp) for p in copied] + [favicon]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("staging", type=Path, help="folder served via html_extra_path")
    parser.add_argument(
        "--node-modules",
        type=Path,
        default=REPO / "node_modules",
        help="where `npm ci` installed the packages (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        files = stage(args.staging.resolve(), args.node_modules.resolve())
    except StageError as err:
        print(f"stage_assets: error: {err}", file=sys.stderr)
        return 1
    if not files:
        print(f"stage_assets: {args.staging} is up to date")
        return 0
    total = sum(f.stat().st_size for f in files)
    print(f"stage_assets: {len(files)} files, {total / 1e6:.1f} MB -> {args.staging}/({SUBDIR}/, favicon.ico)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
