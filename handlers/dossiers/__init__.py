"""Dossiers by receipt code: lookup with a second factor, following, pushes and the rating."""
