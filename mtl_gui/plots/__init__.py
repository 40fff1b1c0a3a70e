"""Live plots: each reads run histories and redraws on the plot area timer."""
