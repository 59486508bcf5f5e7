"""Make the example images in this folder: digits drawn as pen strokes by
handwriting.imaging.synthetic (no data set is copied), then photographed, inverted or
exported the way people's pictures come.

    python examples/make_examples.py
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from handwriting.imaging.synthetic import render

HERE = Path(__file__).parent


def photo(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Like a phone photo of paper: light falling off across the page, grain, a little blur."""
    a = np.asarray(image.convert("L"), dtype=np.float32)
    h, w = a.shape
    yy, xx = np.mgrid[0:h, 0:w]
    light = 0.65 + 0.35 * (xx / w) * (1 - 0.3 * yy / h)
    a = a * light + rng.normal(0, 6, a.shape)
    warm = np.stack([a * 1.0, a * 0.96, a * 0.88], axis=-1)
    return Image.fromarray(np.clip(warm, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))


def main() -> None:
    rng = np.random.default_rng(2026)
    render("2026", rng=rng).save(HERE / "2026.png")
    photo(render("0612345789", height=90, gap=0.2, rng=rng), rng).save(HERE / "phone.jpg", quality=80)
    inverted = render("7", height=200, ink=235, paper=25, rng=rng)
    inverted.save(HERE / "seven-inverted.png")
    canvas = render(
        "42", height=140, pen=0.07, ink=(30, 60, 200, 255), paper=(0, 0, 0, 0), mode="RGBA", rng=rng
    )
    canvas.save(HERE / "42-transparent.png")
    render("75008", height=80, gap=0.3, ink=(40, 40, 40), paper=(250, 248, 240), mode="RGB", rng=rng).save(
        HERE / "postcode.webp", quality=85
    )


if __name__ == "__main__":
    main()
