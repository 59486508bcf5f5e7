"""On-the-fly data augmentation for image batches: random affine transforms (rotation,
scale, shear, shift) and elastic distortions (Simard, Steinkraus & Platt 2003), drawn from
a seeded generator and applied to a whole mini-batch at once.

Every output pixel p (centred coordinates) reads the input at A p + t + e(p), by bilinear
interpolation, where A = rotation x shear x scale, t a shift, and e a random displacement
field: uniform noise in [-1, 1] per pixel, smoothed by a Gaussian of width sigma (as two
matrix products, G E G^T) and scaled by alpha.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Augment:
    rotate: float = 10.0  # degrees, +-
    scale: float = 0.1  # relative, +-
    shear: float = 0.15  # +-
    shift: float = 2.0  # pixels, +-
    elastic_alpha: float = 0.0  # pixels of displacement (0: off); Simard et al. used 34
    elastic_sigma: float = 4.0  # pixels of smoothing

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A transformed copy of the batch ``x`` of shape (N, H, W) or (N, 1, H, W)."""
        shape = x.shape
        images = x.reshape(shape[0], shape[-2], shape[-1])
        n, h, w = images.shape
        angle = np.radians(rng.uniform(-self.rotate, self.rotate, n))
        zoom = 1.0 + rng.uniform(-self.scale, self.scale, n)
        shear = rng.uniform(-self.shear, self.shear, n)
        shift = rng.uniform(-self.shift, self.shift, (n, 2))
        cos, sin = np.cos(angle), np.sin(angle)
        # A maps output coordinates (row, col) to input coordinates: rotate(shear(p)) / zoom
        a = np.empty((n, 2, 2))
        a[:, 0, 0], a[:, 0, 1] = cos, -sin + cos * shear
        a[:, 1, 0], a[:, 1, 1] = sin, cos + sin * shear
        a /= zoom[:, None, None]
        cy, cx = (h - 1) / 2, (w - 1) / 2
        rows, cols = np.mgrid[0:h, 0:w]
        grid = np.stack([rows - cy, cols - cx]).reshape(2, -1)  # (2, h w)
        src = a @ grid + (np.array([cy, cx]) + shift)[:, :, None]  # (n, 2, h w)
        src = src.reshape(n, 2, h, w)
        if self.elastic_alpha > 0:
            src += self.elastic_alpha * _smooth(rng.uniform(-1, 1, (n, 2, h, w)), self.elastic_sigma)
        return _bilinear(images, src[:, 0], src[:, 1]).reshape(shape).astype(x.dtype, copy=False)

    def config(self) -> dict[str, float]:
        return asdict(self)


# Test-time augmentation: the image itself and the image moved by one pixel each way.
TTA_SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def shifted(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The batch x (N, H, W) moved down by dy and right by dx pixels; zeros come in at the edges."""
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def _gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """G with G[i, j] = exp(-(i - j)^2 / 2 sigma^2), rows summing to 1: G @ v blurs v."""
    d = np.arange(size)[:, None] - np.arange(size)[None, :]
    g = np.exp(-(d**2) / (2.0 * sigma**2))
    return g / g.sum(axis=1, keepdims=True)


def _smooth(field: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of (..., h, w) fields, separably: G_h F G_w^T."""
    h, w = field.shape[-2:]
    return _gaussian_matrix(h, sigma) @ field @ _gaussian_matrix(w, sigma).T


def _bilinear(images: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """images[n] sampled at the real coordinates (y[n], x[n]); zero outside the image."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 2, w + 2), dtype=np.float32)
    padded[:, 1:-1, 1:-1] = images
    y = np.clip(y + 1, 0, h + 1 - 1e-4)  # +1: into padded coordinates; beyond the edge reads zeros
    x = np.clip(x + 1, 0, w + 1 - 1e-4)
    y0, x0 = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    fy, fx = (y - y0).astype(np.float32), (x - x0).astype(np.float32)
    y1, x1 = np.minimum(y0 + 1, h + 1), np.minimum(x0 + 1, w + 1)
    flat = padded.reshape(-1)
    base = (np.arange(n) * (h + 2) * (w + 2))[:, None, None]
    wp = w + 2
    top = flat[base + y0 * wp + x0] * (1 - fx) + flat[base + y0 * wp + x1] * fx
    bottom = flat[base + y1 * wp + x0] * (1 - fx) + flat[base + y1 * wp + x1] * fx
    return top * (1 - fy) + bottom * fy
