"""MLflow for the hub: one workspace and one MLflow user per company, one run per job."""
