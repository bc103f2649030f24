"""deepC-style compile: an int8 .tflite model as standalone C99, built into a native library.

reader (flatbuffer -> Graph) -> planner (one static arena from tensor lifetimes) -> emit (one C
function per operator, TFLite's integer semantics) -> codegen (model.c, weights.c, model.h, main.c)
-> build (cc) -> verify/report (against LiteRT). The generated code needs no runtime, no malloc
and no libm for the model itself.
"""
