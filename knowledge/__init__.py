"""Pure-Python knowledge of the procedure catalog: loading, normalising, searching.

Nothing here imports aiogram, SQL or any other part of the project.
"""
