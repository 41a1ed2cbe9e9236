"""Thin, framework-specific glue: `permix_plugins.adapters.trl`, `.verl`, `.openrlhf`.

Each adapter imports its framework lazily and names the extra to install when it is missing.
"""
