"""The rover model: xacro/URDF, Gazebo additions, the MuJoCo twin and the geometry API."""
