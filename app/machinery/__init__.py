"""What the rules run on: the database and its file, backup, config, the front, logs."""
