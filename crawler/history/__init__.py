"""History layer: turns items into rows, snapshots and events. Knows nothing of HTTP."""
