"""Alerts: the one path of every packet into trigger files and the cache, and where
packets come from (Comet, GCN Kafka, NATS)."""
