/* Runs the kernels of a built libkalexo_pixels.so on stdin's pixels, for tests/unit/test_pixel_kernels_arm64.py:
 * `driver LIBRARY halve W H` (W x H grey bytes in) or `driver LIBRARY green W H` (W x H RGB in). */
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef void (*halve_fn)(const uint8_t *, ptrdiff_t, int, int, uint8_t *, ptrdiff_t);
typedef void (*channel_fn)(const uint8_t *, ptrdiff_t, int, int, int, int, uint8_t *, ptrdiff_t);
int main(int argc, char **argv) {
    if (argc != 5) return 2;
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 3; }
    int w = atoi(argv[3]), h = atoi(argv[4]);
    int green = strcmp(argv[2], "green") == 0;
    size_t in_size = (size_t)w * h * (green ? 3 : 1);
    size_t out_w = green ? w : (w + 1) / 2, out_h = green ? h : (h + 1) / 2;
    uint8_t *in = malloc(in_size), *out = malloc(out_w * out_h);
    if (fread(in, 1, in_size, stdin) != in_size) return 4;
    if (green) ((channel_fn)dlsym(lib, "kx_channel"))(in, 3 * w, w, h, 3, 1, out, out_w);
    else ((halve_fn)dlsym(lib, "kx_halve"))(in, w, w, h, out, out_w);
    fwrite(out, 1, out_w * out_h, stdout);
    return 0;
}
