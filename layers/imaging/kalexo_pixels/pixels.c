/* Kalexo's pixel kernels: the two passes over a page's grey rows that Pillow does slowest for the tiler.
 * SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * Called through ctypes (kalexo_pixels/__init__.py): a plain shared library with no Python API, so one build
 * serves every CPython version, and the layer cross-compiles it for arm64 with gcc alone. Rows are one byte a
 * pixel, `stride` bytes apart. No libc calls, no allocation: the caller owns every buffer. */
#include <stddef.h>
#include <stdint.h>

/* Halve a grey image exactly as Pillow's Image.reduce(2) does: each output pixel is the rounded mean of its
 * 2 x 2 box, (a + b + c + d + 2) >> 2; an odd last column or row averages the pixels it has, (a + b + 1) >> 1,
 * and an odd corner is copied. The output is ceil(width / 2) x ceil(height / 2). */
void kx_halve(const uint8_t *src, ptrdiff_t src_stride, int width, int height, uint8_t *dst, ptrdiff_t dst_stride)
{
    const int half_w = width / 2, half_h = height / 2;
    for (int y = 0; y < half_h; y++) {
        const uint8_t *a = src + (ptrdiff_t)(2 * y) * src_stride;
        const uint8_t *b = a + src_stride;
        uint8_t *out = dst + (ptrdiff_t)y * dst_stride;
        for (int x = 0; x < half_w; x++)
            out[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
        if (width & 1)
            out[half_w] = (uint8_t)((a[width - 1] + b[width - 1] + 1) >> 1);
    }
    if (height & 1) {
        const uint8_t *a = src + (ptrdiff_t)(height - 1) * src_stride;
        uint8_t *out = dst + (ptrdiff_t)half_h * dst_stride;
        for (int x = 0; x < half_w; x++)
            out[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + 1) >> 1);
        if (width & 1)
            out[half_w] = a[width - 1];
    }
}

/* One channel of interleaved pixels: byte `channel` of every `n`-byte pixel (the green of MuPDF's RGB rows,
 * the grey of a neutral page). Three bytes at a time, so the compiler can vectorise the common case. */
void kx_channel(const uint8_t *src, ptrdiff_t src_stride, int width, int height, int n, int channel, uint8_t *dst,
                ptrdiff_t dst_stride)
{
    for (int y = 0; y < height; y++) {
        const uint8_t *in = src + (ptrdiff_t)y * src_stride + channel;
        uint8_t *out = dst + (ptrdiff_t)y * dst_stride;
        if (n == 3) {
            for (int x = 0; x < width; x++)
                out[x] = in[3 * x];
        } else {
            for (int x = 0; x < width; x++)
                out[x] = in[(ptrdiff_t)n * x];
        }
    }
}

/* kx_halve for Pillow's four-byte pixels (RGB is held as RGBX): each byte averaged with the same byte of its
 * neighbours, so every channel, the padding byte included, is what Image.reduce(2) makes of it. Written out
 * apart from kx_halve: one function over a pixel size (inlined with 1 and 4) ran halve4 7x slower, its index
 * arithmetic keeping gcc from vectorising it. */
void kx_halve4(const uint8_t *src, ptrdiff_t src_stride, int width, int height, uint8_t *dst, ptrdiff_t dst_stride)
{
    const int half_w = width / 2, half_h = height / 2;
    for (int y = 0; y < half_h; y++) {
        const uint8_t *a = src + (ptrdiff_t)(2 * y) * src_stride;
        const uint8_t *b = a + src_stride;
        uint8_t *out = dst + (ptrdiff_t)y * dst_stride;
        for (int x = 0; x < half_w; x++)
            for (int c = 0; c < 4; c++)
                out[4 * x + c] = (uint8_t)((a[8 * x + c] + a[8 * x + 4 + c] + b[8 * x + c] + b[8 * x + 4 + c] + 2)
                                           >> 2);
        if (width & 1)
            for (int c = 0; c < 4; c++)
                out[4 * half_w + c] = (uint8_t)((a[4 * (width - 1) + c] + b[4 * (width - 1) + c] + 1) >> 1);
    }
    if (height & 1) {
        const uint8_t *a = src + (ptrdiff_t)(height - 1) * src_stride;
        uint8_t *out = dst + (ptrdiff_t)half_h * dst_stride;
        for (int x = 0; x < half_w; x++)
            for (int c = 0; c < 4; c++)
                out[4 * x + c] = (uint8_t)((a[8 * x + c] + a[8 * x + 4 + c] + 1) >> 1);
        if (width & 1)
            for (int c = 0; c < 4; c++)
                out[4 * half_w + c] = a[4 * (width - 1) + c];
    }
}

/* Pixels of `n` bytes (1: grey, 3: MuPDF's RGB) as Pillow's four-byte RGB: grey repeated, or RGB, then 255.
 * Written a 32-bit word a pixel (both targets are little-endian), which the compiler vectorises. */
void kx_to_rgbx(const uint8_t *src, ptrdiff_t src_stride, int width, int height, int n, uint8_t *dst,
                ptrdiff_t dst_stride)
{
    for (int y = 0; y < height; y++) {
        const uint8_t *in = src + (ptrdiff_t)y * src_stride;
        uint32_t *out = (uint32_t *)(void *)(dst + (ptrdiff_t)y * dst_stride);
        if (n == 1) {
            for (int x = 0; x < width; x++)
                out[x] = (uint32_t)in[x] * 0x010101u | 0xff000000u;
        } else {
            for (int x = 0; x < width; x++)
                out[x] = (uint32_t)in[3 * x] | (uint32_t)in[3 * x + 1] << 8 | (uint32_t)in[3 * x + 2] << 16 |
                         0xff000000u;
        }
    }
}
