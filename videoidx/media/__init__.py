"""Reading videos: probe, shot cuts, clip planning, frame sampling and clip cutting."""
