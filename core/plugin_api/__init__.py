"""The plugin API: what a plugin author builds on.

Modules: `hookspecs` (every hook, documented), `registry` (loading plugins from entry points),
`targets` (the target contract and its errors), `sources` (the source contract) and `http` (what
HTTP targets share).
"""
