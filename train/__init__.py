"""Desktop training for crackbot: data folders, model zoo, fitting, evaluation.

TensorFlow is imported inside the functions that need it, so importing this package
(and `python -m train --help`) stays quick.
"""
