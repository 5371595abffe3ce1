"""Learning: the xAPI Learning Record Store and the personal learning spaces (一人一空间)."""
