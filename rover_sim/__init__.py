"""The embedded lunar simulator (MuJoCo) and the terrain generator behind every world."""
