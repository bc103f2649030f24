"""``python -m crackbot``: see crackbot.cli."""
import sys

from crackbot.cli import main

if __name__ == "__main__":
    sys.exit(main())
