"""`rover campaign`: many drives, one command, and the statistics a rover team asks for.

Every (world, scenario, seed) combination is one `rover run` in its own process and its own
private ROS domain, J at a time on this machine or as Ray tasks on a cluster. The pieces:

- `plan`: which drives, their folders and `rover run` arguments (pure);
- `execute`: one drive as a child process with a timeout, locally or inside a Ray task;
- `outcome`: one drive's row, judged from its outputs and the world's ground truth (pure);
- `stats`: per-world and per-scenario means, spreads and rates with confidence intervals (pure);
- `plot`: campaign.png;
- `run`: the campaign loop: resume, progress, the CSV/JSON/PNG outputs.
"""
