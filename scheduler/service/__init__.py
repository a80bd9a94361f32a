"""The scheduler service: binds the pure core to the hub's database and a job executor."""
