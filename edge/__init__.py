"""crackbot device runtime: camera -> tiles -> int8 models -> crack events over MQTT.

Never imports TensorFlow; train/ and convert/ build on this package, never the reverse.
"""

__version__ = "0.1.0"
