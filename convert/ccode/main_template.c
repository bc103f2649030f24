/* crack_model: run the compiled model on one image and print its scores.
 *
 *   crack_model IMAGE.ppm            binary PPM (P6, 8 bit) of exactly the model's input size
 *   crack_model --raw INPUT.bin      the quantized input tensor itself (INPUT_BYTES int8 values)
 *   options: --mask OUT.pgm (segmentation: write the probability mask), --repeat N (time N runs)
 *
 * Exit status 0 on success, 2 with one "error: ..." line for bad input. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

static int fail(const char *what, const char *path) {
  fprintf(stderr, "error: %s: %s\n", path, what);
  return 2;
}

static int next_token(FILE *f, int *value) {
  int c = fgetc(f);
  while (c == '#' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
    if (c == '#') while (c != '\n' && c != EOF) c = fgetc(f);
    c = fgetc(f);
  }
  if (c < '0' || c > '9') return -1;
  *value = 0;
  while (c >= '0' && c <= '9') {
    *value = *value * 10 + (c - '0');
    if (*value > 1000000) return -1;
    c = fgetc(f);
  }
  return 0; /* the single whitespace after the last header number is consumed here */
}

static int read_ppm(const char *path, uint8_t *rgb) {
  FILE *f = fopen(path, "rb");
  int w, h, maxval;
  if (!f) return fail("cannot open", path);
  if (fgetc(f) != 'P' || fgetc(f) != '6' || next_token(f, &w) || next_token(f, &h) || next_token(f, &maxval)) {
    fclose(f);
    return fail("not a binary PPM (P6) image", path);
  }
  if (maxval != 255) { fclose(f); return fail("only 8-bit PPM (maxval 255) is read", path); }
  if (w != CRACK_MODEL_INPUT_WIDTH || h != CRACK_MODEL_INPUT_HEIGHT) {
    fprintf(stderr, "error: %s: image is %dx%d, the model takes %dx%d\n", path, w, h,
            CRACK_MODEL_INPUT_WIDTH, CRACK_MODEL_INPUT_HEIGHT);
    fclose(f);
    return 2;
  }
  if (fread(rgb, 1, (size_t)w * h * 3, f) != (size_t)w * h * 3) { fclose(f); return fail("truncated image data", path); }
  fclose(f);
  return 0;
}

static int read_raw(const char *path, int8_t *input) {
  FILE *f = fopen(path, "rb");
  if (!f) return fail("cannot open", path);
  size_t n = fread(input, 1, CRACK_MODEL_INPUT_BYTES, f);
  int extra = fgetc(f);
  fclose(f);
  if (n != CRACK_MODEL_INPUT_BYTES || extra != EOF) {
    fprintf(stderr, "error: %s: expected exactly %d bytes of quantized input\n", path, CRACK_MODEL_INPUT_BYTES);
    return 2;
  }
  return 0;
}

static float dequantize(int8_t q) {
  return ((float)q - (float)CRACK_MODEL_OUTPUT_ZERO_POINT) * CRACK_MODEL_OUTPUT_SCALE;
}

int main(int argc, char **argv) {
  static uint8_t rgb[CRACK_MODEL_INPUT_BYTES];
  static int8_t input[CRACK_MODEL_INPUT_BYTES];
  static int8_t output[CRACK_MODEL_OUTPUT_BYTES];
  static const char *labels[] = CRACK_MODEL_LABELS;
  const char *path = NULL, *mask = NULL;
  int raw = 0, repeat = 1, rc;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--raw")) raw = 1;
    else if (!strcmp(argv[i], "--mask") && i + 1 < argc) mask = argv[++i];
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("usage: %s [--raw] [--mask OUT.pgm] [--repeat N] IMAGE.ppm|INPUT.bin\n", argv[0]);
      return 0;
    } else if (argv[i][0] == '-') { fprintf(stderr, "error: unknown option %s\n", argv[i]); return 2; }
    else path = argv[i];
  }
  if (!path || repeat < 1) {
    fprintf(stderr, "error: usage: %s [--raw] [--mask OUT.pgm] [--repeat N] IMAGE.ppm|INPUT.bin\n", argv[0]);
    return 2;
  }
  if (raw) rc = read_raw(path, input);
  else if ((rc = read_ppm(path, rgb)) == 0) crack_model_quantize_pixels(rgb, input);
  if (rc) return rc;

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int r = 0; r < repeat; ++r) crack_model_run(input, output);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const double ms = ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / repeat;

  if (CRACK_MODEL_TASK_SEGMENTATION) {
    int above = 0;
    for (int i = 0; i < CRACK_MODEL_OUTPUT_BYTES; ++i) above += dequantize(output[i]) >= CRACK_MODEL_THRESHOLD;
    printf("crack_pixels %d of %d (%.4f)\n", above, CRACK_MODEL_OUTPUT_BYTES, (double)above / CRACK_MODEL_OUTPUT_BYTES);
    if (mask) {
      FILE *f = fopen(mask, "wb");
      if (!f) return fail("cannot write", mask);
      fprintf(f, "P5\n%d %d\n255\n", CRACK_MODEL_INPUT_WIDTH, CRACK_MODEL_INPUT_HEIGHT);
      for (int i = 0; i < CRACK_MODEL_OUTPUT_BYTES; ++i) {
        float p = dequantize(output[i]) * 255.0f + 0.5f;
        fputc(p < 0 ? 0 : (p > 255 ? 255 : (int)p), f);
      }
      fclose(f);
    }
  } else {
    /* One output value is the probability of the last label; otherwise one score per label. */
    for (int i = 0; i < CRACK_MODEL_OUTPUT_BYTES; ++i) {
      const char *name = CRACK_MODEL_OUTPUT_BYTES == 1 ? labels[CRACK_MODEL_NUM_LABELS - 1]
                         : (i < CRACK_MODEL_NUM_LABELS ? labels[i] : "score");
      printf("%s %.6f\n", name, dequantize(output[i]));
    }
    if (CRACK_MODEL_OUTPUT_BYTES == 1)
      printf("decision %s\n", dequantize(output[0]) >= CRACK_MODEL_THRESHOLD ? labels[CRACK_MODEL_NUM_LABELS - 1] : labels[0]);
  }
  if (repeat > 1) printf("ms_per_run %.3f\n", ms);
  return 0;
}
