"""Repositories: one module per aggregate, each a class over an ``AsyncSession`` that never commits."""
