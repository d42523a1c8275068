"""The receiver: the HTTP listener terminals push punches to, and the Minop cloud's webhook endpoint."""
