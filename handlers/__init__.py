"""Dialog logic, written once as aiogram routers and shared by every channel.

The feature routers are assembled by `handlers.routers.create_routers()`; this package imports
nothing, so importing one `handlers.*` module loads only what that module needs.
"""
