"""Provider adapters: where a bot's gateway physically runs (local process, AWS, GCP, Azure)."""
