"""Local CloudBase: an embedded gateway that speaks the CloudBase HTTP API offline.

Install with the ``local`` extra. ``import cloudbase_async`` never imports this package.
"""
