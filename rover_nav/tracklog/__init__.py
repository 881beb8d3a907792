"""Track logging: record every drive as a crash-safe rosbag2 (MCAP), a track, a map and a summary.

Pure cores (no rclpy): `geo` (attitude, selenographic coordinates), `sampling` (distance and
heading sampling, odometer, moving-average speed), `recorder` (the track and the summary),
`files` (CSV/GeoJSON/JSON writers), `msgdefs` (ROS 2 message definitions for MCAP schemas),
`bag` (rosbag2 MCAP writer and a tolerant reader), `io_thread` (the bounded writer thread),
`replay` (rebuild CSV/GeoJSON from a bag). track.png and the summary table are drawn by
`rover_bringup.report` (it needs the simulator's terrain, a layer above).
The ROS shell is `logger_node` (executable `track_logger`).
"""
