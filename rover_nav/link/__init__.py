"""The emulated Earth-Moon link (ROVER_SPEC section 5): pure cores (profile, channel, plans) and thin nodes."""
