"""The bottom layer: what every other part of tfmeta shares, importing nothing of tfmeta's and no
TensorFlow, so that the records layer and the leaderboard app may use all of it.

registries.py     methods, optimizee task families and standard optimizers by name
contract.py       checking a class against the hooks its base declares; importing classes by path
errors.py         errors whose message is written for the user
locks.py          advisory locks on folders one process at a time may write
stats.py          mean and 95% CI, paired comparisons
episode_index.py  the key of a frozen episode set and its index file
data_dirs.py      where datasets come from and where their prepared forms are kept
lake_runs.py      Lake et al.'s runs archive, found and content-hashed without decoding
"""
