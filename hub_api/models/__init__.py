"""The models API: company-scoped MLflow experiments, runs, artifacts and model registry."""
