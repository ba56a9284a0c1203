"""Page images for PDF citations: each page a quote spans, rendered, with its boxes painted on.

The page is rendered by pypdfium2 (Apache-2.0 / BSD) in a child process limited in memory and
time, as the PDF was read (``qa.index.pdf``), so a hostile file cannot take the server down; the
highlight is drawn here with Pillow. A page is only rendered from the very file that was indexed
(same SHA-256): a file changed or gone since shows its text only.
"""
from __future__ import annotations

import base64
import io
import resource
import subprocess
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from qa.answer_types import Quote
from qa.index.documents import Document
from qa.index.hashing import file_sha256

SCALE = 1.5  # pixels per point: 108 dpi, legible in the sources panel
MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024
TIME_LIMIT_S = 30
CACHE_PAGES = 32  # rendered pages kept, most recently used
FILL, OUTLINE = (255, 214, 0, 96), (214, 150, 0, 255)


@dataclass(frozen=True)
class PageImage:
    page: int
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


class PageRenderer:
    """Renders and caches pages; ``images(quote, document)`` gives the highlighted pages."""

    def __init__(self, scale: float = SCALE):
        self.scale = scale
        self._pages: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()  # the web chat's requests run on several threads

    def images(self, quote: Quote, document: Document | None) -> list[PageImage]:
        if not quote.boxes or document is None:
            return []
        path = Path(document.path)
        try:
            if file_sha256(path) != document.sha256:
                return []
        except OSError:
            return []
        out = []
        for page in quote.pages:
            plain = self._page(path, document.sha256, page)
            if plain is None:
                return []
            out.append(PageImage(page, self._highlight(plain, [b for b in quote.boxes if b.page == page])))
        return out

    def _page(self, path: Path, sha256: str, page: int) -> bytes | None:
        key = (str(path), sha256, page)
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
        png = render(path, page, self.scale)  # outside the lock: other requests need not wait
        if png is not None:
            with self._lock:
                self._pages[key] = png
                while len(self._pages) > CACHE_PAGES:
                    self._pages.popitem(last=False)
        return png

    def _highlight(self, png: bytes, boxes) -> bytes:
        from PIL import Image, ImageDraw

        image = Image.open(io.BytesIO(png)).convert("RGBA")
        layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        for b in boxes:
            sx, sy = image.width / b.page_width, image.height / b.page_height
            draw.rectangle([b.x0 * sx - 1, b.top * sy - 1, b.x1 * sx + 1, b.bottom * sy + 1], fill=FILL,
                           outline=OUTLINE)
        out = io.BytesIO()
        Image.alpha_composite(image, layer).convert("RGB").save(out, "PNG", optimize=True)
        return out.getvalue()


def render(path: Path, page: int, scale: float) -> bytes | None:
    """Page ``page`` (from 1) of the PDF at ``path`` as PNG bytes, rendered in a limited child
    process; None when it cannot be rendered."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))

    try:
        done = subprocess.run([sys.executable, "-m", "ui.pages", str(path), str(page), str(scale)],
                              capture_output=True, timeout=TIME_LIMIT_S, preexec_fn=limit, check=False)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 and done.stdout.startswith(b"\x89PNG") else None


def main(argv: list[str]) -> int:
    import pypdfium2 as pdfium

    path, page, scale = argv[0], int(argv[1]), float(argv[2])
    pdf = pdfium.PdfDocument(path)
    try:
        image = pdf[page - 1].render(scale=scale).to_pil()
        out = io.BytesIO()
        image.save(out, "PNG")
        sys.stdout.buffer.write(out.getvalue())
    finally:
        pdf.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
