"""edgekd."""
