"""What the tests share: builders of inputs, small worlds of configuration and data, emulator helpers,
and the oracle (a slow, obvious implementation of the rules the engine is checked against).
"""
