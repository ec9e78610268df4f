"""The scheduler: the one place where 'do X at time T' lives, persisted in the database."""
