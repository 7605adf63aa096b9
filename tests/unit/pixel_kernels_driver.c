/* Runs the kernels of a built libkalexo_pixels.so on stdin's pixels, for tests/unit/test_pixel_kernels_arm64.py:
 * `driver LIBRARY KERNEL W H`, KERNEL one of halve (W x H grey in), halve4 (RGBX in), green (RGB in), rgbx1
 * (grey in, RGBX out), rgbx3 (RGB in, RGBX out). */
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef void (*halve_fn)(const uint8_t *, ptrdiff_t, int, int, uint8_t *, ptrdiff_t);
typedef void (*channel_fn)(const uint8_t *, ptrdiff_t, int, int, int, int, uint8_t *, ptrdiff_t);
typedef void (*rgbx_fn)(const uint8_t *, ptrdiff_t, int, int, int, uint8_t *, ptrdiff_t);
int main(int argc, char **argv) {
    if (argc != 5) return 2;
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 3; }
    const char *kernel = argv[2];
    int w = atoi(argv[3]), h = atoi(argv[4]);
    int in_bpp = 1, out_bpp = 1, halves = 0;
    if (!strcmp(kernel, "halve4")) in_bpp = out_bpp = 4, halves = 1;
    else if (!strcmp(kernel, "halve")) halves = 1;
    else if (!strcmp(kernel, "green")) in_bpp = 3;
    else if (!strcmp(kernel, "rgbx1")) out_bpp = 4;
    else if (!strcmp(kernel, "rgbx3")) in_bpp = 3, out_bpp = 4;
    else return 5;
    size_t out_w = halves ? (size_t)(w + 1) / 2 : (size_t)w, out_h = halves ? (size_t)(h + 1) / 2 : (size_t)h;
    size_t in_size = (size_t)w * h * in_bpp, out_size = out_w * out_h * out_bpp;
    uint8_t *in = malloc(in_size), *out = malloc(out_size);
    if (fread(in, 1, in_size, stdin) != in_size) return 4;
    if (!strcmp(kernel, "halve")) ((halve_fn)dlsym(lib, "kx_halve"))(in, w, w, h, out, out_w);
    else if (halves) ((halve_fn)dlsym(lib, "kx_halve4"))(in, 4 * w, w, h, out, 4 * out_w);
    else if (in_bpp == 3 && out_bpp == 1) ((channel_fn)dlsym(lib, "kx_channel"))(in, 3 * w, w, h, 3, 1, out, w);
    else ((rgbx_fn)dlsym(lib, "kx_to_rgbx"))(in, in_bpp * w, w, h, in_bpp, out, 4 * w);
    fwrite(out, 1, out_size, stdout);
    return 0;
}
