"""Desktop conversion for crackbot: Keras -> int8 TFLite, validated, written as a bundle.

TensorFlow is imported inside the functions that need it, so `python -m convert --help` is quick.
"""
