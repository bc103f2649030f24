"""crackbot, the one command: ``crackbot edge|monitor|train|convert ...`` (see crackbot.cli).

Each part keeps its own ``python -m`` form and ``main(argv)``; this package only dispatches to them
and imports a part when its command runs.
"""
