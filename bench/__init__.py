"""`make bench`: what the device spends, measured in one run on one machine, as ratios."""
