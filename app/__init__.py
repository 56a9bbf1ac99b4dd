"""Sample WhatsApp Miner workload: replace with the real application.

Small but real: migrations on a SQLite database on the data volume, a
miner that ingests message files and a classifier that labels them, each
writing a heartbeat the compose healthchecks read.
"""
