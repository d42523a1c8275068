"""The durable store of punches, processed days, the delivery ledger and run history (SQLAlchemy Core)."""
